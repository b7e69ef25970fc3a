import { mount } from 'svelte';
import '@/components/theme.css';
import '@/components/forms.css';
import Sheet from './Sheet.svelte';

mount(Sheet, { target: document.getElementById('app')! });
