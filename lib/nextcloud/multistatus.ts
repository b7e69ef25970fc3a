/** Parsing of WebDAV PROPFIND multistatus answers into typed entries. */
import { fail } from '../errors';
import { asFileId } from './ids';
import type { DavEntry, FileId } from './types';
import {
  NS_DAV,
  NS_NC,
  NS_OC,
  type XmlElement,
  childElements,
  firstChild,
  parseXml,
  textContent,
} from './xml';

export interface MultistatusContext {
  /** Path of the server base URL ("" or "/nextcloud"). */
  basePath: string;
  /** The (decoded) user id whose files root is the reference. */
  userId: string;
}

function bad(reason: string): Error {
  return fail(
    'format',
    'The server sent a folder listing that cannot be read. The server or a proxy may have sent something unexpected. Try again; if it keeps happening, ask the server admin.',
    { detail: `multistatus: ${reason}` },
  );
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad('href with malformed percent-encoding');
  }
}

/** Decoded path (relative to the user's files root, starting with "/") for a `d:href`. */
export function hrefToPath(href: string, ctx: MultistatusContext): string {
  let pathname = href.trim();
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(pathname);
  if (m !== null) pathname = m[1] ?? '/';
  pathname = pathname.replace(/[?#].*$/, '');
  if (!pathname.startsWith('/')) throw bad('relative href');
  const segs = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  const base = ctx.basePath
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  const marker = [...base, 'remote.php', 'dav', 'files', ctx.userId];
  const matches = (at: number, want: readonly string[]): boolean => want.every((w, k) => segs[at + k] === w);
  let start = -1;
  if (matches(0, marker)) start = marker.length;
  else {
    const tail = marker.slice(base.length);
    for (let k = 0; k + tail.length <= segs.length; k++) {
      if (matches(k, tail)) {
        start = k + tail.length;
        break;
      }
    }
  }
  if (start === -1) throw bad("href outside the user's files");
  const rest = segs.slice(start);
  for (const r of rest)
    if (r === '.' || r === '..' || r.includes('/')) throw bad('unsafe path segment in href');
  return '/' + rest.join('/');
}

function propText(props: Map<string, XmlElement>, ns: string, local: string): string | undefined {
  const el = props.get(`${ns} ${local}`);
  return el === undefined ? undefined : textContent(el);
}

function stripQuotes(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

function isOkStatus(statusLine: string | undefined): boolean {
  if (statusLine === undefined) return true; // missing status: be lenient
  return /^\s*HTTP\/[\d.]+\s+2\d\d\b/.test(statusLine);
}

/** Parses a multistatus document (text) into entries; only properties in 2xx propstats are used. */
export function parseMultistatus(xml: string, ctx: MultistatusContext): DavEntry[] {
  const root = parseXml(xml);
  if (root.ns !== NS_DAV || root.local !== 'multistatus') throw bad('root element is not DAV:multistatus');
  const out: DavEntry[] = [];
  for (const resp of childElements(root, NS_DAV, 'response')) {
    const hrefEl = firstChild(resp, NS_DAV, 'href');
    if (hrefEl === undefined) throw bad('response without href');
    const href = textContent(hrefEl).trim();
    const propstats = childElements(resp, NS_DAV, 'propstat');
    if (propstats.length === 0) continue; // e.g. a bare <d:status> 404 response
    const props = new Map<string, XmlElement>();
    for (const ps of propstats) {
      const st = firstChild(ps, NS_DAV, 'status');
      if (!isOkStatus(st === undefined ? undefined : textContent(st))) continue;
      for (const prop of childElements(ps, NS_DAV, 'prop')) {
        for (const p of childElements(prop)) props.set(`${p.ns} ${p.local}`, p);
      }
    }
    const path = hrefToPath(href, ctx);
    const rt = props.get(`${NS_DAV} resourcetype`);
    const isFolder = rt !== undefined && firstChild(rt, NS_DAV, 'collection') !== undefined;
    const fileIdText = propText(props, NS_OC, 'fileid')?.trim();
    let fileId: FileId | undefined;
    if (fileIdText !== undefined && /^\d{1,19}$/.test(fileIdText)) fileId = asFileId(fileIdText);
    const lenText = propText(props, NS_DAV, 'getcontentlength')?.trim();
    const size = lenText !== undefined && /^\d{1,16}$/.test(lenText) ? Number(lenText) : undefined;
    const lm = propText(props, NS_DAV, 'getlastmodified');
    const lmDate = lm === undefined ? undefined : new Date(lm.trim());
    const etag = propText(props, NS_DAV, 'getetag');
    const entry: DavEntry = {
      href,
      path,
      name: path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1),
      isFolder,
      fileId,
      size,
      etag: etag === undefined ? undefined : stripQuotes(etag),
      lastModified: lmDate === undefined || Number.isNaN(lmDate.getTime()) ? undefined : lmDate,
      contentType: propText(props, NS_DAV, 'getcontenttype')?.trim(),
      displayName: propText(props, NS_DAV, 'displayname'),
      permissions: propText(props, NS_OC, 'permissions')?.trim(),
      isEncrypted: propText(props, NS_NC, 'is-encrypted')?.trim() === '1',
      e2eeIsEncrypted: propText(props, NS_NC, 'e2ee-is-encrypted')?.trim() === '1',
    };
    const md = propText(props, NS_NC, 'e2ee-metadata');
    if (md !== undefined) entry.metadata = md;
    const sig = propText(props, NS_NC, 'e2ee-metadata-signature');
    if (sig !== undefined) entry.signature = sig.trim();
    out.push(entry);
  }
  return out;
}
