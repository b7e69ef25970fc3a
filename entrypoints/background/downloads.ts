/**
 * Saving verified downloads with the browser's downloads API. The engine document (Chrome: offscreen;
 * Firefox: this background page) builds the verified file as a Blob, makes an object URL of it and asks
 * here; it polls `downloadState` and revokes the URL once the browser finished writing the file.
 */
import { browser } from 'wxt/browser';

/** A name the downloads API accepts: no path separators, no control or reserved characters. */
export function safeFilename(name: string): string {
  const cleaned = [...name]
    .map((c) => (c.charCodeAt(0) < 0x20 || '\\/:*?"<>|~'.includes(c) ? '_' : c))
    .join('')
    .replace(/^[.\s]+|[.\s]+$/g, '');
  return cleaned.slice(0, 200) || 'download';
}

export async function saveDownload(url: string, filename: string): Promise<number> {
  return browser.downloads.download({ url, filename: safeFilename(filename), conflictAction: 'uniquify' });
}

export async function downloadState(
  downloadId: number,
): Promise<{ state: 'in_progress' | 'complete' | 'interrupted' | 'gone'; error: string | null }> {
  const [item] = await browser.downloads.search({ id: downloadId });
  if (!item) return { state: 'gone', error: null };
  const state = item.state === 'complete' || item.state === 'interrupted' ? item.state : 'in_progress';
  return { state, error: item.error ? String(item.error).slice(0, 200) : null };
}
