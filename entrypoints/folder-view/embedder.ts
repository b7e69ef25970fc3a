/**
 * Who embeds the folder view. The page is web-accessible to every http(s) site (MV3 needs static match
 * patterns), so it must refuse to work when framed by anything but a connected Nextcloud origin.
 */
import { originOf } from '../../lib/messages/origin';

export type Embedding = { kind: 'top-level' } | { kind: 'framed'; origin: string | null };

/**
 * `ancestorOrigins` (Chromium) names the direct parent; Firefox lacks it, so fall back to the referrer
 * (the content script sets it; a page that hides it gets `origin: null`, which is refused).
 */
export function embeddingOf(w: {
  top: unknown;
  self: unknown;
  location: { ancestorOrigins?: { length: number; [i: number]: string } };
  document: { referrer: string };
}): Embedding {
  if (w.top === w.self) return { kind: 'top-level' };
  const ancestors = w.location.ancestorOrigins;
  if (ancestors && ancestors.length > 0) return { kind: 'framed', origin: originOf(ancestors[0] ?? '') };
  return { kind: 'framed', origin: w.document.referrer ? originOf(w.document.referrer) : null };
}

export function isAllowedEmbedding(e: Embedding, connectedOrigins: readonly string[]): boolean {
  return e.kind === 'top-level' || (e.origin !== null && connectedOrigins.includes(e.origin));
}
