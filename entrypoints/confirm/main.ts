/** confirm.html: the extension-chrome confirmation window for destructive folder-view actions. */
import { mount } from 'svelte';
import '@/components/theme.css';
import ConfirmAction from '@/components/folder-view/ConfirmAction.svelte';
import Placeholder from '@/components/Placeholder.svelte';

const target = document.getElementById('app')!;
const id = new URLSearchParams(location.hash.replace(/^#/, '')).get('c') ?? '';
if (window.top !== window.self || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
  mount(Placeholder, {
    target,
    props: {
      subtitle: 'Confirm',
      title: 'Nothing to confirm',
      text: 'Open this from a Cipherfold folder view.',
    },
  });
} else {
  mount(ConfirmAction, { target, props: { confirmId: id } });
}
