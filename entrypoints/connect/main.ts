import { mount } from 'svelte';
import '@/components/theme.css';
import Placeholder from '@/components/Placeholder.svelte';

mount(Placeholder, {
  target: document.getElementById('app')!,
  props: {
    subtitle: 'Connect',
    title: 'Connect to your Nextcloud',
    text: 'Coming soon: sign in with your Nextcloud (Login Flow) or a server address and app password. Cipherfold will ask your browser for access to that one server only.',
  },
});
