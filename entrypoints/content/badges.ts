/**
 * Lock badges on encrypted folder rows of a plain listing. Which rows get one is decided by the engine
 * (server file ids of encrypted folders, from PROPFIND); the row's `data-cy-files-list-row-fileid` is only
 * used to find where to draw. The badge is decoration: it grants nothing.
 */
const ATTR = 'data-cipherfold-badge';
const ROW = '[data-cy-files-list-row-fileid]';

function badge(doc: Document): HTMLElement {
  const span = doc.createElement('span');
  span.setAttribute(ATTR, '');
  span.setAttribute('title', 'End-to-end encrypted — opens in Cipherfold');
  span.setAttribute('aria-label', 'End-to-end encrypted');
  span.setAttribute(
    'style',
    'all:initial;display:inline-flex;vertical-align:middle;margin-inline-start:6px;width:16px;height:16px;',
  );
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = doc.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  const path = doc.createElementNS(svgNs, 'path');
  path.setAttribute('fill', '#0082c9');
  path.setAttribute(
    'd',
    'M12 2a5 5 0 0 1 5 5v3h1a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h1V7a5 5 0 0 1 5-5Zm0 2a3 3 0 0 0-3 3v3h6V7a3 3 0 0 0-3-3Z',
  );
  svg.appendChild(path);
  span.appendChild(svg);
  return span;
}

export function applyBadges(doc: Document, encryptedIds: ReadonlySet<string>): void {
  for (const row of doc.querySelectorAll<HTMLElement>(ROW)) {
    const id = row.getAttribute('data-cy-files-list-row-fileid') ?? '';
    const existing = row.querySelector(`[${ATTR}]`);
    if (!encryptedIds.has(id)) {
      existing?.remove();
      continue;
    }
    if (existing) continue;
    const target =
      row.querySelector('.files-list__row-name-text') ??
      row.querySelector('[data-cy-files-list-row-name-link]');
    target?.appendChild(badge(doc));
  }
}

export function clearBadges(doc: Document): void {
  for (const b of doc.querySelectorAll(`[${ATTR}]`)) b.remove();
}
