import { mount } from 'svelte';
import '@/components/theme.css';
import '@/components/forms.css';
import Setup from './Setup.svelte';

mount(Setup, { target: document.getElementById('app')! });
