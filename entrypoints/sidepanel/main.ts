import { mount } from 'svelte';
import '@/components/theme.css';
import Placeholder from '@/components/Placeholder.svelte';

mount(Placeholder, {
  target: document.getElementById('app')!,
  props: {
    subtitle: 'Side panel',
    title: 'Encrypted folder',
    text: 'Members, share links, file drop, devices and activity for the open encrypted folder will appear here.',
  },
});
