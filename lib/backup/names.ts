/**
 * Clear names from metadata are chosen by whoever wrote the metadata (any member, or an anonymous
 * filedrop uploader) and must never be able to address anything outside the output directory. Every name
 * becomes exactly one safe path segment: no "/", "\", NUL or other control characters, never "", "." or
 * "..", at most MAX_NAME_BYTES of UTF-8. Names that collide inside one folder (compared case-insensitively,
 * because the target file system may be case-insensitive) get " (2)", " (3)", … before the extension.
 */

/** Leaves room for a " (NNN)" suffix below the usual 255-byte limit of file systems. */
export const MAX_NAME_BYTES = 240;

const encoder = new TextEncoder();

function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/** Cuts `s` to at most `max` UTF-8 bytes without splitting a code point. */
function truncateUtf8(s: string, max: number): string {
  if (utf8Length(s) <= max) return s;
  let out = '';
  let n = 0;
  for (const ch of s) {
    const l = utf8Length(ch);
    if (n + l > max) break;
    out += ch;
    n += l;
  }
  return out;
}

function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  // A leading dot is part of the name (".bashrc"); a very long "extension" is not one.
  if (dot <= 0 || name.length - dot > 16) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/** One safe path segment for a clear name (not yet de-duplicated). */
export function sanitiseName(name: string): string {
  // eslint-disable-next-line no-control-regex
  let s = String(name).replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  // Lone surrogates cannot be encoded as file names.
  s = s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '_');
  if (/^\.*$/.test(s)) s = '_' + s.replace(/\./g, '_');
  if (utf8Length(s) > MAX_NAME_BYTES) {
    const { stem, ext } = splitExtension(s);
    s = truncateUtf8(stem, MAX_NAME_BYTES - utf8Length(ext)) + ext;
    if (/^\.*$/.test(s)) s = '_' + s.replace(/\./g, '_');
  }
  return s;
}

/** Hands out unique safe names within one directory. */
export class NameAllocator {
  private readonly taken = new Set<string>();

  /** The sanitised name, with " (n)" added if it is taken already. */
  allocate(clearName: string): string {
    const base = sanitiseName(clearName);
    if (this.take(base)) return base;
    const { stem, ext } = splitExtension(base);
    for (let i = 2; ; i++) {
      const candidate = `${stem} (${i})${ext}`;
      if (this.take(candidate)) return candidate;
    }
  }

  private take(name: string): boolean {
    const key = name.normalize('NFC').toLowerCase();
    if (this.taken.has(key)) return false;
    this.taken.add(key);
    return true;
  }
}
