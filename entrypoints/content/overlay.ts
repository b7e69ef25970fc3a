/**
 * Places the folder-view iframe (an extension-origin page) over the Files list, inside a CLOSED shadow
 * root so the page's CSS cannot restyle it and its script cannot find it through `shadowRoot`.
 * The iframe URL carries only the opaque view id. Everything the content script writes into the DOM is
 * readable by the page, so nothing here is sensitive.
 */

/** Anchors tried in order (nextcloud-files-dom.md); the content area also holds the error view. */
export const ANCHORS = ['[data-cy-files-content]', '[data-cy-files-list]'] as const;

const HOST_STYLE =
  'all:initial;position:absolute;top:0;left:0;right:0;bottom:0;z-index:20;display:block;background:transparent;contain:strict;';
const BUTTON_HOST_STYLE = 'all:initial;position:fixed;right:24px;bottom:24px;z-index:2147483646;';

export interface Placement {
  remove(): void;
  /** Sends a validated hint into the iframe (the iframe re-resolves it with the engine). */
  hint(fileId: string): void;
}

function frameUrl(viewUrl: string, viewId: string): string {
  return `${viewUrl}#v=${encodeURIComponent(viewId)}`;
}

export function findAnchor(doc: Document): { anchor: HTMLElement | null; missing: string[] } {
  const missing: string[] = [];
  for (const sel of ANCHORS) {
    const el = doc.querySelector<HTMLElement>(sel);
    if (el) return { anchor: el, missing };
    missing.push(sel);
  }
  return { anchor: null, missing };
}

/** Overlays the folder view on `anchor`; re-attaches it if the page re-renders and drops the host. */
export function placeFrame(doc: Document, viewUrl: string, viewId: string): Placement | null {
  const { anchor: first } = findAnchor(doc);
  if (!first) return null;
  let anchor: HTMLElement = first;
  const host = doc.createElement('div');
  host.setAttribute('style', HOST_STYLE);
  const root = host.attachShadow({ mode: 'closed' });
  const style = doc.createElement('style');
  style.textContent =
    ':host{all:initial}iframe{display:block;width:100%;height:100%;border:0;margin:0;padding:0;background:transparent;color-scheme:normal}';
  const frame = doc.createElement('iframe');
  frame.src = frameUrl(viewUrl, viewId);
  frame.title = 'Encrypted folder (Cipherfold)';
  frame.setAttribute('referrerpolicy', 'strict-origin');
  root.append(style, frame);

  let restorePosition: string | null = null;
  // The Files content fills the window below the header in Nextcloud; where the anchor is shorter (an
  // error view), the overlay still reaches the bottom of the window.
  const fit = () => {
    const top = anchor.getBoundingClientRect().top + window.scrollY;
    host.style.minHeight = `${Math.max(240, window.innerHeight - top)}px`;
  };
  const attach = (a: HTMLElement) => {
    anchor = a;
    if (getComputedStyle(a).position === 'static') {
      restorePosition = a.style.position;
      a.style.position = 'relative';
    }
    if (a.scrollTop) a.scrollTop = 0;
    a.appendChild(host);
    fit();
  };
  attach(anchor);
  window.addEventListener('resize', fit);

  // The Files app is a Vue app: it may replace the anchor. Re-attach the same host (same iframe state
  // is lost only if the node moves, which is acceptable).
  let scheduled = false;
  const observer = new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      if (host.isConnected && host.parentElement === anchor) return;
      const { anchor: next } = findAnchor(doc);
      if (next) attach(next);
    });
  });
  observer.observe(doc.body, { childList: true, subtree: true });

  return {
    remove() {
      observer.disconnect();
      window.removeEventListener('resize', fit);
      host.remove();
      if (restorePosition !== null) anchor.style.position = restorePosition;
    },
    hint(fileId: string) {
      if (!/^[0-9]{1,20}$/.test(fileId)) return;
      const target = /^[a-z-]+:\/\/[^/]+/.exec(viewUrl)?.[0];
      if (target) frame.contentWindow?.postMessage({ cipherfold: 'navigate', fileId }, target);
    },
  };
}

/** Fallback when no anchor exists: a floating "Open in Cipherfold" button that opens the view as a tab. */
export function placeButton(doc: Document, viewUrl: string, viewId: string): Placement {
  const host = doc.createElement('div');
  host.setAttribute('style', BUTTON_HOST_STYLE);
  const root = host.attachShadow({ mode: 'closed' });
  const style = doc.createElement('style');
  style.textContent =
    'button{font:600 14px system-ui,sans-serif;color:#fff;background:#0082c9;border:0;border-radius:20px;padding:10px 18px;box-shadow:0 2px 8px rgba(0,0,0,.25);cursor:pointer}button:hover{background:#006aa3}';
  const button = doc.createElement('button');
  button.type = 'button';
  button.textContent = 'Open in Cipherfold';
  button.addEventListener('click', () => {
    window.open(frameUrl(viewUrl, viewId), '_blank', 'noopener');
  });
  root.append(style, button);
  doc.body.appendChild(host);
  return { remove: () => host.remove(), hint: () => undefined };
}
