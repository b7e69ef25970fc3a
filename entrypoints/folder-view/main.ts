/**
 * The folder view: decrypted listing of one end-to-end encrypted folder, drawn by Cipherfold in an
 * extension-origin page. Framed by the content script over the Nextcloud Files list (the page cannot read
 * into it), or opened as its own tab. Its URL fragment carries only the opaque view id (and, in a tab, the
 * server path the engine re-checks against the view's encrypted root).
 */
import { mount } from 'svelte';
import '@/components/theme.css';
import Placeholder from '@/components/Placeholder.svelte';
import FolderView from '@/components/folder-view/FolderView.svelte';
import { uiCall } from '@/components/ui-client';
import { isFolderPath, isViewId } from '@/lib/messages';
import { embeddingOf, isAllowedEmbedding } from './embedder';

const target = document.getElementById('app')!;

function fromHash(): { viewId: string | null; path: string | null } {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const v = params.get('v');
  const p = params.get('p');
  return { viewId: v && isViewId(v) ? v : null, path: p && isFolderPath(p) ? p : null };
}

async function start() {
  const origins = await uiCall('origins/list', {});
  const embedding = embeddingOf(window);
  const allowed = origins.ok && isAllowedEmbedding(embedding, origins.result.origins);
  document.documentElement.dataset.embedding = allowed ? 'allowed' : 'refused';
  document.documentElement.dataset.framed = String(embedding.kind === 'framed');
  const { viewId, path } = fromHash();
  if (!allowed) {
    mount(Placeholder, {
      target,
      props: {
        subtitle: 'Encrypted folder',
        title: 'Not available here',
        text: 'This Cipherfold view only works inside a Nextcloud you connected. Nothing was shown. Open your Nextcloud and try again.',
      },
    });
    return;
  }
  if (viewId === null) {
    mount(Placeholder, {
      target,
      props: {
        subtitle: 'Encrypted folder',
        title: 'End-to-end encrypted folder',
        text: 'Open an encrypted folder in your Nextcloud tab: Cipherfold shows its decrypted contents here, drawn by the extension and not by the web page.',
      },
    });
    return;
  }
  document.documentElement.classList.add(embedding.kind === 'framed' ? 'framed' : 'tab');
  mount(FolderView, { target, props: { viewId, initialPath: path, framed: embedding.kind === 'framed' } });
}

void start();
