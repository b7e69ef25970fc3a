/**
 * viewer.html: preview of one decrypted file in an extension tab. The fragment names the view, the folder
 * (server path, re-checked by the engine against the view's encrypted root) and the file's server name.
 */
import { mount } from 'svelte';
import '@/components/theme.css';
import Placeholder from '@/components/Placeholder.svelte';
import Viewer from '@/components/viewer/Viewer.svelte';
import { isFolderPath, isUuidName, isViewId } from '@/lib/messages';

const target = document.getElementById('app')!;
const params = new URLSearchParams(location.hash.replace(/^#/, ''));
const viewId = params.get('v') ?? '';
const path = params.get('p') ?? '';
const id = params.get('f') ?? '';
if (window.top !== window.self || !isViewId(viewId) || !isFolderPath(path) || !isUuidName(id)) {
  mount(Placeholder, {
    target,
    props: {
      subtitle: 'Preview',
      title: 'Nothing to preview',
      text: 'Open a file from a Cipherfold folder view.',
    },
  });
} else {
  mount(Viewer, { target, props: { viewId, path, id } });
}
