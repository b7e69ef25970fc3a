import { mount } from 'svelte';
import '@/components/theme.css';
import '@/components/forms.css';
import Unlock from './Unlock.svelte';

mount(Unlock, { target: document.getElementById('app')! });
