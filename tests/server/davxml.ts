/** XML helpers for WebDAV: escaping, Sabre error bodies, PROPFIND request parsing. */

export const NS_DAV = 'DAV:';
export const NS_OC = 'http://owncloud.org/ns';
export const NS_NC = 'http://nextcloud.org/ns';
export const NS_SABRE = 'http://sabredav.org/ns';

/**
 * Escape text content for XML. `\r` becomes `&#13;` so that parsers do not normalise CRLF (Sabre/XMLWriter
 * does the same); characters that XML 1.0 cannot carry are replaced by U+FFFD.
 */
export function xmlText(s: string): string {
  return (
    s
      .replace(/[&<>"\r]/g, (c) =>
        c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#13;',
      )
      // eslint-disable-next-line no-control-regex -- replacing exactly these characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
  );
}

export function sabreError(exception: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n' +
    `  <s:exception>${xmlText(exception)}</s:exception>\n  <s:message>${xmlText(message)}</s:message>\n</d:error>\n`
  );
}

export interface PropName {
  ns: string;
  local: string;
}

export type PropfindRequest = { mode: 'allprop' } | { mode: 'prop'; props: PropName[] };

/**
 * Parse a PROPFIND body (namespace-aware, tolerant). Empty body = allprop. Only the direct children of
 * DAV:prop inside DAV:propfind are collected.
 */
export function parsePropfind(body: string): PropfindRequest {
  const text = body.replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  if (!text.trim()) return { mode: 'allprop' };
  const tagRe =
    /<(\/?)(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  const attrRe = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  const stack: { ns: string; local: string; scope: Map<string, string> }[] = [];
  const props: PropName[] = [];
  let allprop = false;
  let sawProp = false;
  for (let m = tagRe.exec(text); m; m = tagRe.exec(text)) {
    const [, close, prefix, local, attrs, selfClose] = m;
    if (close) {
      stack.pop();
      continue;
    }
    const parentScope = stack.length ? stack[stack.length - 1]!.scope : new Map<string, string>();
    const scope = new Map(parentScope);
    for (let a = attrRe.exec(attrs ?? ''); a; a = attrRe.exec(attrs ?? '')) {
      const name = a[1]!;
      const value = a[2] ?? a[3] ?? '';
      if (name === 'xmlns') scope.set('', value);
      else if (name.startsWith('xmlns:')) scope.set(name.slice(6), value);
    }
    attrRe.lastIndex = 0;
    const ns = scope.get(prefix ?? '') ?? '';
    const el = { ns, local: local! };
    const parent = stack[stack.length - 1];
    const grand = stack[stack.length - 2];
    if (
      parent &&
      parent.ns === NS_DAV &&
      parent.local === 'prop' &&
      grand?.ns === NS_DAV &&
      (grand.local === 'propfind' || grand.local === 'select')
    ) {
      props.push(el);
    }
    if (ns === NS_DAV && local === 'allprop' && parent?.local === 'propfind') allprop = true;
    if (ns === NS_DAV && local === 'prop' && (parent?.local === 'propfind' || parent?.local === 'select'))
      sawProp = true;
    if (!selfClose) stack.push({ ...el, scope });
  }
  if (allprop || !sawProp) return { mode: 'allprop' };
  return { mode: 'prop', props };
}

export interface PropValue {
  name: PropName;
  /** already-serialised XML content (escaped) */
  xml: string;
}

const PREFIX: Record<string, string> = { [NS_DAV]: 'd', [NS_SABRE]: 's', [NS_OC]: 'oc', [NS_NC]: 'nc' };

function qname(p: PropName, extra: { n: number }): { open: string; close: string; empty: string } {
  const pre = PREFIX[p.ns];
  if (pre)
    return { open: `<${pre}:${p.local}>`, close: `</${pre}:${p.local}>`, empty: `<${pre}:${p.local}/>` };
  const x = `x${++extra.n}`;
  const decl = p.ns ? ` xmlns:${x}="${xmlText(p.ns)}"` : '';
  const tag = p.ns ? `${x}:${p.local}` : p.local;
  return { open: `<${tag}${decl}>`, close: `</${tag}>`, empty: `<${tag}${decl}/>` };
}

export function multistatus(items: { href: string; found: PropValue[]; missing: PropName[] }[]): string {
  const extra = { n: 0 };
  let out =
    '<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">';
  for (const it of items) {
    out += `<d:response><d:href>${xmlText(it.href)}</d:href>`;
    if (it.found.length) {
      out += '<d:propstat><d:prop>';
      for (const f of it.found) {
        const q = qname(f.name, extra);
        out += f.xml === '' ? q.empty : q.open + f.xml + q.close;
      }
      out += '</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>';
    }
    if (it.missing.length) {
      out += '<d:propstat><d:prop>';
      for (const p of it.missing) out += qname(p, extra).empty;
      out += '</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>';
    }
    out += '</d:response>';
  }
  return out + '</d:multistatus>\n';
}
