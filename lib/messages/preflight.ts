/**
 * Sender preflight: every message the background receives is classified by who sent it, and each sender
 * class may use exactly one channel. Pure: the background passes in the `MessageSender` it got and the
 * facts it knows (own id, own origin, connected server origins).
 */
import { contentChannel, type ContentRequest } from './content';
import { errorReply, isRequestId, type ErrorReply } from './envelope';
import { isRecord } from './guards';
import { originOf } from './origin';
import { uiChannel, type UiRequest } from './ui';

export interface PreflightContext {
  /** `runtime.id` of this extension. */
  runtimeId: string;
  /** This extension's origin, e.g. `chrome-extension://abc…` (no trailing slash). */
  extensionOrigin: string;
  /** Server origins the user connected (exact origins, with port when not default). */
  connectedOrigins: readonly string[];
}

export type SenderClass =
  | { kind: 'extension-page'; url: string; tabId: number | null }
  | { kind: 'content-script'; origin: string; tabId: number; frameId: number; url: string }
  | { kind: 'rejected' };

/** Classifies a `runtime.MessageSender` (taken as `unknown`: we trust no field without checking it). */
export function classifySender(sender: unknown, ctx: PreflightContext): SenderClass {
  if (!isRecord(sender) || sender.id !== ctx.runtimeId || typeof sender.url !== 'string')
    return { kind: 'rejected' };
  const origin = originOf(sender.url);
  if (origin === null) return { kind: 'rejected' };
  // Chromium also reports the origin of the sending document; it must agree with the URL.
  if (
    sender.origin !== undefined &&
    (typeof sender.origin !== 'string' || sender.origin.toLowerCase() !== origin)
  ) {
    return { kind: 'rejected' };
  }
  const tab = sender.tab;
  const tabId = isRecord(tab) && typeof tab.id === 'number' && Number.isSafeInteger(tab.id) ? tab.id : null;
  if (origin === ctx.extensionOrigin.toLowerCase().replace(/\/+$/, '')) {
    return { kind: 'extension-page', url: sender.url, tabId };
  }
  if (tabId !== null && tabId >= 0 && sender.frameId === 0 && ctx.connectedOrigins.includes(origin)) {
    return { kind: 'content-script', origin, tabId, frameId: 0, url: sender.url };
  }
  return { kind: 'rejected' };
}

export type Preflighted =
  | { ok: true; channel: 'ui'; request: UiRequest; sender: Extract<SenderClass, { kind: 'extension-page' }> }
  | {
      ok: true;
      channel: 'content';
      request: ContentRequest;
      sender: Extract<SenderClass, { kind: 'content-script' }>;
    }
  | { ok: false; reply: ErrorReply };

const REFUSED =
  'Cipherfold refused a request from a page it does not trust. Nothing was done. If you see this in the extension, reload the page.';

/** Classifies the sender, picks the only channel that sender may use, and validates the message on it. */
export function preflight(message: unknown, sender: unknown, ctx: PreflightContext): Preflighted {
  const id = isRecord(message) && isRequestId(message.id) ? message.id : null;
  const who = classifySender(sender, ctx);
  if (who.kind === 'rejected') return { ok: false, reply: errorReply(id, 'permission', REFUSED) };
  if (who.kind === 'extension-page') {
    if (!uiChannel.claims(message)) return { ok: false, reply: errorReply(id, 'permission', REFUSED) };
    const checked = uiChannel.check(message);
    return checked.ok ? { ok: true, channel: 'ui', request: checked.request, sender: who } : checked;
  }
  if (!contentChannel.claims(message)) return { ok: false, reply: errorReply(id, 'permission', REFUSED) };
  const checked = contentChannel.check(message);
  return checked.ok ? { ok: true, channel: 'content', request: checked.request, sender: who } : checked;
}

/**
 * Check used by the engine host (offscreen document): only the extension's own background may talk to
 * the engine. Content scripts and extension pages also reach the offscreen document's listener (Chrome
 * broadcasts `runtime.sendMessage`), so this is not optional.
 */
export function isFromBackground(sender: unknown, runtimeId: string, backgroundUrl: string): boolean {
  return (
    isRecord(sender) &&
    sender.id === runtimeId &&
    sender.tab === undefined &&
    typeof sender.url === 'string' &&
    sender.url === backgroundUrl
  );
}
