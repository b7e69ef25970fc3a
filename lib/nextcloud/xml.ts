/**
 * A small, namespace-aware, non-validating XML reader for WebDAV answers (multistatus, Sabre errors).
 *
 * Portable (no DOMParser). Supports any prefixes and default namespaces, CDATA, comments, processing
 * instructions, the five predefined entities and numeric character references, and self-closing tags.
 * DOCTYPE declarations are rejected (no entity expansion). Text is returned exactly as written
 * (entities decoded; line endings are *not* normalised so that metadata text stays byte-identical).
 *
 * Every malformed input throws a `CipherfoldError` of kind `format`; the parser is iterative, runs in
 * linear time and always advances, so it cannot hang or overflow the call stack.
 */
import { CipherfoldError, fail } from '../errors';

export const NS_DAV = 'DAV:';
export const NS_OC = 'http://owncloud.org/ns';
export const NS_NC = 'http://nextcloud.org/ns';
export const NS_SABRE = 'http://sabredav.org/ns';
const NS_XML = 'http://www.w3.org/XML/1998/namespace';
const NS_XMLNS = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttribute {
  readonly ns: string;
  readonly local: string;
  readonly value: string;
}

export interface XmlElement {
  /** Namespace URI, '' when none. */
  readonly ns: string;
  readonly local: string;
  readonly attributes: readonly XmlAttribute[];
  /** Child elements and text runs (adjacent text and CDATA are merged into one string). */
  readonly children: readonly XmlNode[];
}

export type XmlNode = XmlElement | string;

export interface XmlParseOptions {
  /** Maximum element nesting depth (default 256). */
  maxDepth?: number;
}

interface MutableElement {
  ns: string;
  local: string;
  attributes: XmlAttribute[];
  children: XmlNode[];
}

interface Frame {
  qname: string;
  el: MutableElement;
  nsMap: ReadonlyMap<string, string>;
}

const NAME_RE = /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_.\-\u00B7-\uFFFF]*$/;
const WS_RE = /^[ \t\r\n]*$/;

function bad(reason: string, offset: number): CipherfoldError {
  return fail(
    'format',
    'The server sent an XML answer that cannot be read. The server or a proxy in between may have sent something unexpected. Try again; if it keeps happening, ask the server admin.',
    { detail: `XML: ${reason} at offset ${offset}` },
  );
}

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function splitQName(qname: string, offset: number): { prefix: string; local: string } {
  const colon = qname.indexOf(':');
  if (colon === -1) {
    if (!NAME_RE.test(qname)) throw bad('invalid name', offset);
    return { prefix: '', local: qname };
  }
  const prefix = qname.slice(0, colon);
  const local = qname.slice(colon + 1);
  if (!NAME_RE.test(prefix) || !NAME_RE.test(local)) throw bad('invalid qualified name', offset);
  return { prefix, local };
}

/** Decodes the predefined entities and character references of a text or attribute run. */
export function decodeXmlEntities(s: string, offset = 0): string {
  if (s.indexOf('&') === -1) return s;
  let out = '';
  let pos = 0;
  for (;;) {
    const amp = s.indexOf('&', pos);
    if (amp === -1) return out + s.slice(pos);
    out += s.slice(pos, amp);
    const semi = s.indexOf(';', amp + 1);
    if (semi === -1 || semi - amp > 12) throw bad('unterminated entity', offset + amp);
    const name = s.slice(amp + 1, semi);
    switch (name) {
      case 'lt':
        out += '<';
        break;
      case 'gt':
        out += '>';
        break;
      case 'amp':
        out += '&';
        break;
      case 'quot':
        out += '"';
        break;
      case 'apos':
        out += "'";
        break;
      default: {
        let cp: number;
        if (/^#x[0-9A-Fa-f]{1,8}$/.test(name)) cp = parseInt(name.slice(2), 16);
        else if (/^#[0-9]{1,10}$/.test(name)) cp = parseInt(name.slice(1), 10);
        else throw bad('unknown entity', offset + amp);
        if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) {
          throw bad('invalid character reference', offset + amp);
        }
        out += String.fromCodePoint(cp);
      }
    }
    pos = semi + 1;
  }
}

/** Parses a complete XML document and returns its root element. */
export function parseXml(text: string, options: XmlParseOptions = {}): XmlElement {
  if (typeof text !== 'string') throw bad('not text', 0);
  const maxDepth = options.maxDepth ?? 256;
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: Frame[] = [];
  let root: MutableElement | undefined;
  const rootMap: ReadonlyMap<string, string> = new Map([
    ['xml', NS_XML],
    ['xmlns', NS_XMLNS],
  ]);

  const appendText = (t: string): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) throw bad('text outside the root element', i);
    if (t === '') return;
    const kids = top.el.children;
    const last = kids[kids.length - 1];
    if (typeof last === 'string') kids[kids.length - 1] = last + t;
    else kids.push(t);
  };

  const attach = (el: MutableElement, at: number): void => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.el.children.push(el);
    else if (root === undefined) root = el;
    else throw bad('more than one root element', at);
  };

  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt === -1 ? n : lt;
    if (end > i) {
      const raw = text.slice(i, end);
      if (stack.length === 0) {
        if (!WS_RE.test(raw)) throw bad('text outside the root element', i);
      } else {
        appendText(decodeXmlEntities(raw, i));
      }
      i = end;
      continue;
    }
    // text[i] === '<'
    if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i + 4);
      if (close === -1) throw bad('unterminated comment', i);
      i = close + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) throw bad('CDATA outside the root element', i);
      const close = text.indexOf(']]>', i + 9);
      if (close === -1) throw bad('unterminated CDATA section', i);
      appendText(text.slice(i + 9, close));
      i = close + 3;
      continue;
    }
    if (text.startsWith('<!', i)) throw bad('DOCTYPE and markup declarations are not supported', i);
    if (text.startsWith('<?', i)) {
      const close = text.indexOf('?>', i + 2);
      if (close === -1) throw bad('unterminated processing instruction', i);
      i = close + 2;
      continue;
    }
    if (text.startsWith('</', i)) {
      const close = text.indexOf('>', i + 2);
      if (close === -1) throw bad('unterminated end tag', i);
      const qname = text.slice(i + 2, close).replace(/[ \t\r\n]+$/, '');
      const top = stack.pop();
      if (top === undefined) throw bad('end tag without start tag', i);
      if (top.qname !== qname) throw bad('mismatched end tag', i);
      attach(top.el, i);
      i = close + 1;
      continue;
    }
    // start tag
    const start = i;
    let j = i + 1;
    while (j < n && !isWs(text[j]) && text[j] !== '>' && text[j] !== '/' && text[j] !== '<') j++;
    const qname = text.slice(i + 1, j);
    if (qname === '') throw bad('empty tag name', i);
    const rawAttrs: { qname: string; value: string; at: number }[] = [];
    let selfClosing = false;
    for (;;) {
      while (j < n && isWs(text[j])) j++;
      if (j >= n) throw bad('unterminated start tag', start);
      const c = text[j];
      if (c === '>') {
        j++;
        break;
      }
      if (c === '/') {
        if (text[j + 1] !== '>') throw bad('stray "/" in start tag', j);
        selfClosing = true;
        j += 2;
        break;
      }
      const nameStart = j;
      while (
        j < n &&
        !isWs(text[j]) &&
        text[j] !== '=' &&
        text[j] !== '>' &&
        text[j] !== '/' &&
        text[j] !== '<'
      )
        j++;
      const aname = text.slice(nameStart, j);
      if (aname === '') throw bad('malformed attribute', j);
      while (j < n && isWs(text[j])) j++;
      if (text[j] !== '=') throw bad('attribute without value', j);
      j++;
      while (j < n && isWs(text[j])) j++;
      const q = text[j];
      if (q !== '"' && q !== "'") throw bad('unquoted attribute value', j);
      const qclose = text.indexOf(q, j + 1);
      if (qclose === -1) throw bad('unterminated attribute value', j);
      const rawValue = text.slice(j + 1, qclose);
      if (rawValue.indexOf('<') !== -1) throw bad('"<" in attribute value', j);
      rawAttrs.push({
        qname: aname,
        value: decodeXmlEntities(rawValue.replace(/[\t\n\r]/g, ' '), j + 1),
        at: nameStart,
      });
      j = qclose + 1;
      if (j < n && !isWs(text[j]) && text[j] !== '>' && text[j] !== '/')
        throw bad('missing space between attributes', j);
    }

    // namespace declarations
    const parentMap = stack[stack.length - 1]?.nsMap ?? rootMap;
    let nsMap: ReadonlyMap<string, string> = parentMap;
    const seen = new Set<string>();
    for (const a of rawAttrs) {
      if (seen.has(a.qname)) throw bad('duplicate attribute', a.at);
      seen.add(a.qname);
      if (a.qname === 'xmlns' || a.qname.startsWith('xmlns:')) {
        if (nsMap === parentMap) nsMap = new Map(parentMap);
        const prefix = a.qname === 'xmlns' ? '' : a.qname.slice(6);
        if (prefix !== '' && (!NAME_RE.test(prefix) || a.value === ''))
          throw bad('invalid namespace declaration', a.at);
        if (prefix === 'xmlns' || (prefix === 'xml' && a.value !== NS_XML))
          throw bad('reserved prefix', a.at);
        (nsMap as Map<string, string>).set(prefix, a.value);
      }
    }
    const resolve = (prefix: string, at: number): string => {
      const uri = nsMap.get(prefix);
      if (uri === undefined) {
        if (prefix === '') return '';
        throw bad('undeclared namespace prefix', at);
      }
      return uri;
    };
    const en = splitQName(qname, start);
    const attributes: XmlAttribute[] = [];
    const seenExpanded = new Set<string>();
    for (const a of rawAttrs) {
      if (a.qname === 'xmlns' || a.qname.startsWith('xmlns:')) continue;
      const an = splitQName(a.qname, a.at);
      const ns = an.prefix === '' ? '' : resolve(an.prefix, a.at);
      const key = `${ns}\u0000${an.local}`;
      if (seenExpanded.has(key)) throw bad('duplicate attribute', a.at);
      seenExpanded.add(key);
      attributes.push({ ns, local: an.local, value: a.value });
    }
    const el: MutableElement = { ns: resolve(en.prefix, start), local: en.local, attributes, children: [] };
    if (stack.length === 0 && root !== undefined) throw bad('more than one root element', start);
    if (selfClosing) {
      attach(el, start);
    } else {
      if (stack.length >= maxDepth) throw bad('elements nested too deeply', start);
      stack.push({ qname, el, nsMap });
    }
    i = j;
  }
  if (stack.length > 0) throw bad('unexpected end of document', n);
  if (root === undefined) throw bad('no root element', n);
  return root;
}

/** Child elements, optionally filtered by namespace URI and local name. */
export function childElements(el: XmlElement, ns?: string, local?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c === 'string') continue;
    if (ns !== undefined && c.ns !== ns) continue;
    if (local !== undefined && c.local !== local) continue;
    out.push(c);
  }
  return out;
}

export function firstChild(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  for (const c of el.children) {
    if (typeof c !== 'string' && c.ns === ns && c.local === local) return c;
  }
  return undefined;
}

/** Concatenated text of the element and all descendants (iterative; document order). */
export function textContent(el: XmlElement): string {
  let out = '';
  const todo: XmlNode[] = [el];
  while (todo.length > 0) {
    const node = todo.pop()!;
    if (typeof node === 'string') {
      out += node;
      continue;
    }
    for (let k = node.children.length - 1; k >= 0; k--) todo.push(node.children[k]!);
  }
  return out;
}
