/**
 * Origins and match patterns, without relying on `URL.origin` for extension schemes (Node answers 'null'
 * for `moz-extension://…`, browsers differ for `chrome-extension://…`).
 */

/** Normalises a Nextcloud server origin: http(s), no credentials/path/query/fragment. `null` if not one. */
export function normalizeServerOrigin(input: string): string | null {
  if (input.length > 2048) return null;
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  if (u.username !== '' || u.password !== '' || u.hostname === '') return null;
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') return null;
  if (input.endsWith('/') || input.includes('?') || input.includes('#')) return null;
  return u.origin;
}

/** True for a string that already is a normalised server origin (as stored and as sent in messages). */
export function isServerOrigin(x: unknown): x is string {
  return typeof x === 'string' && normalizeServerOrigin(x) === x;
}

const EXTENSION_URL = /^((?:chrome|moz)-extension:\/\/[A-Za-z0-9._-]+)(?:[/?#]|$)/;

/** The origin of any URL we may see as a message sender: http(s) or an extension page. `null` otherwise. */
export function originOf(url: string): string | null {
  const ext = EXTENSION_URL.exec(url);
  if (ext) return ext[1]!.toLowerCase();
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  return u.origin;
}

/**
 * The host match pattern that covers a server origin (used for optional host permissions and for the
 * content script registration). Match patterns ignore the port in Chromium and cannot name one in
 * Firefox, so the exact origin (with port) is enforced again by the sender preflight.
 */
export function matchPatternFor(origin: string): string {
  const normal = normalizeServerOrigin(origin);
  if (normal === null) throw new TypeError('not a server origin');
  const u = new URL(normal);
  return `${u.protocol}//${u.hostname}/*`;
}
