import { mount } from 'svelte';
import '@/components/theme.css';
import Placeholder from '@/components/Placeholder.svelte';

mount(Placeholder, {
  target: document.getElementById('app')!,
  props: {
    subtitle: 'Settings',
    title: 'Settings',
    text: 'Accounts, devices, idle lock and enterprise policy will be managed here.',
  },
});
