import { mount } from 'svelte';
import '@/components/theme.css';
import '@/components/forms.css';
import Approve from './Approve.svelte';

mount(Approve, { target: document.getElementById('app')! });
