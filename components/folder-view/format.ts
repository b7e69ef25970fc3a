/** Formatting and classification helpers for the folder view (pure). */

export function formatSize(n: number | null): string {
  if (n === null) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

const rtf = typeof Intl !== 'undefined' ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;

/** Nextcloud shows relative times ("3 days ago"); the exact date is in the tooltip. */
export function formatRelative(ms: number | null, now = Date.now()): string {
  if (ms === null) return '';
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  if (!rtf) return new Date(ms).toLocaleString();
  if (abs < 45) return 'a few seconds ago';
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  if (abs < 30 * 86400) return rtf.format(Math.round(s / 86400), 'day');
  if (abs < 365 * 86400) return rtf.format(Math.round(s / (30 * 86400)), 'month');
  return rtf.format(Math.round(s / (365 * 86400)), 'year');
}

export function formatExact(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toLocaleString();
}

export type FileKind =
  'folder' | 'image' | 'pdf' | 'text' | 'audio' | 'video' | 'archive' | 'spreadsheet' | 'document' | 'file';

const EXT: Record<string, FileKind> = {
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  webp: 'image',
  svg: 'image',
  bmp: 'image',
  avif: 'image',
  pdf: 'pdf',
  txt: 'text',
  md: 'text',
  markdown: 'text',
  log: 'text',
  json: 'text',
  xml: 'text',
  yml: 'text',
  yaml: 'text',
  mp3: 'audio',
  ogg: 'audio',
  wav: 'audio',
  flac: 'audio',
  m4a: 'audio',
  opus: 'audio',
  mp4: 'video',
  webm: 'video',
  mkv: 'video',
  mov: 'video',
  zip: 'archive',
  gz: 'archive',
  tar: 'archive',
  '7z': 'archive',
  rar: 'archive',
  csv: 'spreadsheet',
  xlsx: 'spreadsheet',
  ods: 'spreadsheet',
  xls: 'spreadsheet',
  docx: 'document',
  odt: 'document',
  doc: 'document',
  rtf: 'document',
  pptx: 'document',
  odp: 'document',
};

export function kindOf(entry: { kind: 'file' | 'folder'; name: string; mimetype: string }): FileKind {
  if (entry.kind === 'folder') return 'folder';
  const m = entry.mimetype.toLowerCase();
  if (m.startsWith('image/')) return 'image';
  if (m === 'application/pdf') return 'pdf';
  if (m.startsWith('audio/')) return 'audio';
  if (m.startsWith('video/')) return 'video';
  if (m === 'text/csv') return 'spreadsheet';
  if (m.startsWith('text/') || m === 'application/json') return 'text';
  const ext = /\.([A-Za-z0-9]+)$/.exec(entry.name)?.[1]?.toLowerCase();
  return (ext && EXT[ext]) || 'file';
}

/** What the viewer can show inline. */
export type PreviewKind = 'image' | 'pdf' | 'text' | 'markdown' | 'audio' | 'video' | 'none';

export function previewKindOf(name: string, mimetype: string): PreviewKind {
  const m = mimetype.toLowerCase();
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';
  if (m === 'text/markdown' || ext === 'md' || ext === 'markdown') return 'markdown';
  if (m === 'image/svg+xml' || ext === 'svg') return 'none'; // scriptable: download only
  const k = kindOf({ kind: 'file', name, mimetype });
  if (k === 'image' || k === 'pdf' || k === 'audio' || k === 'video') return k;
  if (k === 'text' || (k === 'spreadsheet' && (m === 'text/csv' || ext === 'csv'))) return 'text';
  return 'none';
}

/** A media type safe to put on a blob URL we render ourselves (never HTML/SVG/XML that could script). */
export function safeBlobType(preview: PreviewKind, mimetype: string): string {
  switch (preview) {
    case 'pdf':
      return 'application/pdf';
    case 'image':
    case 'audio':
    case 'video':
      return /^(image|audio|video)\/[a-z0-9.+-]+$/i.test(mimetype) && !/svg|xml|html/i.test(mimetype)
        ? mimetype
        : 'application/octet-stream';
    default:
      return 'application/octet-stream';
  }
}
