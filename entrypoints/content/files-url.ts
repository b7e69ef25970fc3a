/** Recognises the Nextcloud Files app in a URL. Pure; unit-tested (tests/unit/content/). */

export interface FilesLocation {
  /** Path prefix of a sub-path install ("" or e.g. "/nextcloud"), without `/index.php`. */
  base: string;
  /** The Files view, e.g. `files`; `files` when the URL names none. */
  view: string;
  /** The file id in the URL (`/apps/files/files/<id>`), or null. Only a hint: never trusted. */
  fileId: string | null;
  /** The folder shown (`dir=`), normalised: leading "/", no trailing "/", no empty/"."/".." segments. */
  dir: string;
}

/** Views of the Files app that show a folder tree (others list recent files, favourites, …). */
const FOLDER_VIEWS = new Set(['files']);

const FILES_PATH = /^((?:\/[^/]+)*?)(?:\/index\.php)?\/apps\/files(?:\/([a-z]+)(?:\/(\d{1,20}))?)?\/?$/;

/** Normalises a `dir=` value; null when it is not an absolute, clean folder path. */
export function normaliseDir(dir: string): string | null {
  if (!dir.startsWith('/') || dir.includes('\0') || dir.length > 4096) return null;
  const segs = dir.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '.' || s === '..')) return null;
  return '/' + segs.join('/');
}

/** The Files app location of a URL, or null outside the Files app's folder views. */
export function filesLocationFromUrl(href: string): FilesLocation | null {
  let u: URL;
  try {
    u = new URL(href);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  const m = FILES_PATH.exec(pathname);
  if (!m) return null;
  const base = m[1] ?? '';
  if (base.split('/').some((s) => s === 'index.php' || s === 'apps')) return null;
  const view = m[2] ?? 'files';
  if (!FOLDER_VIEWS.has(view)) return null;
  const dir = normaliseDir(u.searchParams.get('dir') ?? '/');
  if (dir === null) return null;
  return { base, view, fileId: m[3] ?? null, dir };
}

/** The folder the Files app shows, from its URL (`/apps/files/…?dir=/a/b`), or null outside Files. */
export function filesFolderFromUrl(href: string): string | null {
  return filesLocationFromUrl(href)?.dir ?? null;
}
