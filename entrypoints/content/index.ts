/**
 * Content script for a connected Nextcloud origin (registered at runtime by the background, for that
 * origin only — see entrypoints/background/origins.ts).
 *
 * It shares the DOM with server-delivered JavaScript, so it stays tiny: recognise the Files app and the
 * current folder, ask the background whether that folder is end-to-end encrypted. It places nothing yet.
 * It never reads secrets from the page, and nothing it learns from the DOM is trusted for a decision.
 */
import { browser } from 'wxt/browser';
import { call, contentChannel } from '@/lib/messages';
import { filesFolderFromUrl } from './files-url';

export default defineContentScript({
  registration: 'runtime',
  runAt: 'document_idle',
  main(ctx) {
    // Injected at most once per document, even if two registrations match this host.
    const flag = Symbol.for('cipherfold.content-script');
    const g = globalThis as unknown as Record<symbol, true | undefined>;
    if (g[flag]) return;
    g[flag] = true;
    let last: string | null = null;
    const check = async () => {
      const path = filesFolderFromUrl(location.href);
      if (path === null || path === last) return;
      last = path;
      const reply = await call(
        contentChannel,
        (m) => browser.runtime.sendMessage(m),
        'content/is-encrypted-folder',
        {
          path,
        },
      );
      if (!ctx.isValid) return;
      // Next step (folder view): when reply.ok && reply.result.encrypted, place the folder-view iframe.
      void reply;
    };
    void check();
    ctx.addEventListener(window, 'wxt:locationchange', () => void check());
  },
});
