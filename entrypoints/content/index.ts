/**
 * Content script for a connected Nextcloud origin (registered at runtime by the background, for that
 * origin only — see entrypoints/background/origins.ts).
 *
 * It shares the DOM with server-delivered JavaScript, so it stays small and never sees plaintext:
 * - recognises the Files app and the current folder from the URL (sub-path installs, pretty URLs), and
 *   follows History-API navigation by polling `location.href` (cheap string compare) plus `popstate` —
 *   the isolated world cannot hook the page's `pushState`;
 * - asks the background whether that folder is end-to-end encrypted (the engine asks the SERVER); if so,
 *   asks for a view id and overlays the extension-origin folder view (closed shadow root), else removes it;
 * - marks encrypted folder rows of a plain listing with a lock badge (ids from the engine, never the DOM);
 * - reports when the page runs the server's own in-browser E2EE code (the folder view then warns).
 * The engine answers it only booleans and ids.
 */
import { browser } from 'wxt/browser';
import { call, contentChannel, type ContentCommands, type Reply } from '@/lib/messages';
import { filesLocationFromUrl, type FilesLocation } from './files-url';
import { findAnchor, placeButton, placeFrame, type Placement } from './overlay';
import { pageRunsServerE2ee } from './server-e2ee';
import { applyBadges, clearBadges } from './badges';

const POLL_MS = 250;
const ANCHOR_WAIT_MS = 4000;

function ask<C extends keyof ContentCommands>(
  cmd: C,
  payload: ContentCommands[C]['payload'],
): Promise<Reply<ContentCommands[C]['result']>> {
  return call(contentChannel, (m) => browser.runtime.sendMessage(m), cmd, payload);
}

function log(message: string): void {
  console.info(`[Cipherfold] ${message}`);
}

export default defineContentScript({
  registration: 'runtime',
  runAt: 'document_idle',
  main(ctx) {
    // Injected at most once per document, even if two registrations match this host.
    const flag = Symbol.for('cipherfold.content-script');
    const g = globalThis as unknown as Record<symbol, true | undefined>;
    if (g[flag]) return;
    g[flag] = true;

    const viewUrl = browser.runtime.getURL('/folder-view.html');
    let lastHref = '';
    let lastDir: string | null = null;
    let generation = 0;
    let placement: Placement | null = null;
    let badgeObserver: MutationObserver | null = null;
    let reportedServerE2ee = false;

    const clearOverlay = () => {
      placement?.remove();
      placement = null;
    };
    const clearBadgeWatch = () => {
      badgeObserver?.disconnect();
      badgeObserver = null;
      clearBadges(document);
    };

    const checkServerE2ee = () => {
      if (reportedServerE2ee || !pageRunsServerE2ee(document)) return;
      reportedServerE2ee = true;
      log("this page runs the server's own in-browser end-to-end encryption code");
      void ask('content/report-server-e2ee', {});
    };

    const waitForAnchor = async (gen: number): Promise<boolean> => {
      const deadline = Date.now() + ANCHOR_WAIT_MS;
      while (gen === generation && ctx.isValid) {
        if (findAnchor(document).anchor) return true;
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };

    const showEncrypted = async (loc: FilesLocation, gen: number) => {
      const opened = await ask('content/open-folder-view', { path: loc.dir });
      if (gen !== generation || !ctx.isValid || !opened.ok) return;
      const viewId = opened.result.viewId;
      if (await waitForAnchor(gen)) {
        placement = placeFrame(document, viewUrl, viewId);
      }
      if (!placement && gen === generation) {
        log(
          `anchor missing: none of ${findAnchor(document).missing.join(', ')} — showing the "Open in Cipherfold" button`,
        );
        placement = placeButton(document, viewUrl, viewId);
      }
    };

    const showPlain = async (loc: FilesLocation, gen: number) => {
      const reply = await ask('content/encrypted-children', { path: loc.dir });
      if (gen !== generation || !ctx.isValid || !reply.ok) return;
      const ids = new Set(reply.result.fileIds);
      if (ids.size === 0) return;
      applyBadges(document, ids);
      // The list is virtualised: rows come and go while scrolling.
      let pending = false;
      badgeObserver = new MutationObserver(() => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          applyBadges(document, ids);
        });
      });
      badgeObserver.observe(document.body, { childList: true, subtree: true });
    };

    const check = async () => {
      const href = location.href;
      if (href === lastHref) return;
      lastHref = href;
      checkServerE2ee();
      const loc = filesLocationFromUrl(href);
      if (loc === null) {
        lastDir = null;
        generation++;
        clearOverlay();
        clearBadgeWatch();
        return;
      }
      if (loc.dir === lastDir) {
        if (loc.fileId !== null) placement?.hint(loc.fileId);
        return;
      }
      lastDir = loc.dir;
      const gen = ++generation;
      clearOverlay();
      clearBadgeWatch();
      const reply = await ask('content/is-encrypted-folder', { path: loc.dir });
      if (gen !== generation || !ctx.isValid) return;
      if (!reply.ok) {
        log(`could not check this folder (${reply.error.kind})`);
        return;
      }
      if (reply.result.encrypted) await showEncrypted(loc, gen);
      else await showPlain(loc, gen);
    };

    void check();
    ctx.setInterval(() => void check(), POLL_MS);
    ctx.addEventListener(window, 'popstate', () => void check());
    ctx.onInvalidated(() => {
      clearOverlay();
      clearBadgeWatch();
    });
  },
});
