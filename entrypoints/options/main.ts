import { mount } from 'svelte';
import '@/components/theme.css';
import '@/components/forms.css';
import Options from './Options.svelte';

mount(Options, { target: document.getElementById('app')! });
