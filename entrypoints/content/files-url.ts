/** Recognises the Nextcloud Files app in a URL. Pure; unit-tested. */

/** The folder the Files app shows, from its URL (`/apps/files/…?dir=/a/b`), or null outside Files. */
export function filesFolderFromUrl(href: string): string | null {
  let u: URL;
  try {
    u = new URL(href);
  } catch {
    return null;
  }
  if (!/^(?:\/index\.php)?\/apps\/files(?:\/|$)/.test(u.pathname)) return null;
  const dir = u.searchParams.get('dir') ?? '/';
  return dir.startsWith('/') && !dir.includes('\0') && dir.length <= 4096 ? dir : null;
}
