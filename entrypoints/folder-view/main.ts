import { mount } from 'svelte';
import '@/components/theme.css';
import Placeholder from '@/components/Placeholder.svelte';

mount(Placeholder, {
  target: document.getElementById('app')!,
  props: {
    subtitle: 'Encrypted folder',
    title: 'End-to-end encrypted folder',
    text: 'The decrypted file list will appear here, drawn by Cipherfold and not by the web page.',
  },
});
