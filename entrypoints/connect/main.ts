import { mount } from 'svelte';
import '@/components/theme.css';
import '@/components/forms.css';
import Connect from './Connect.svelte';

mount(Connect, { target: document.getElementById('app')! });
