/**
 * A tiny namespace-aware XML reader for WebDAV multistatus answers (Node has no DOMParser and the suite must not
 * depend on the client library). Supports elements, attributes, text, CDATA, comments, processing instructions,
 * the five predefined entities and numeric character references. No DTDs.
 */
export interface XmlElement {
  ns: string;
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content of this element and its descendants. */
  text(): string;
}

interface Node extends XmlElement {
  parts: (string | Node)[];
  nsMap: Record<string, string>;
  qname: string;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const cp = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return String.fromCodePoint(cp);
  });
}

function makeNode(qname: string, attrs: Record<string, string>, parentNs: Record<string, string>): Node {
  const nsMap = { ...parentNs };
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'xmlns') nsMap[''] = v;
    else if (k.startsWith('xmlns:')) nsMap[k.slice(6)] = v;
    else plain[k] = v;
  }
  const i = qname.indexOf(':');
  const prefix = i >= 0 ? qname.slice(0, i) : '';
  const local = i >= 0 ? qname.slice(i + 1) : qname;
  const ns = nsMap[prefix];
  if (ns === undefined && prefix !== '') throw new Error(`XML: undeclared namespace prefix "${prefix}"`);
  const node: Node = {
    ns: ns ?? '',
    local,
    attrs: plain,
    children: [],
    parts: [],
    nsMap,
    qname,
    text() {
      return node.parts.map((p) => (typeof p === 'string' ? p : p.text())).join('');
    },
  };
  return node;
}

export function parseXml(src: string): XmlElement {
  let pos = 0;
  const stack: Node[] = [];
  let root: Node | undefined;
  const attrRe = /([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/g;
  while (pos < src.length) {
    const lt = src.indexOf('<', pos);
    if (lt < 0) {
      if (stack.length) stack[stack.length - 1]!.parts.push(decodeEntities(src.slice(pos)));
      break;
    }
    if (lt > pos && stack.length) stack[stack.length - 1]!.parts.push(decodeEntities(src.slice(pos, lt)));
    if (src.startsWith('<?', lt)) {
      pos = src.indexOf('?>', lt) + 2;
    } else if (src.startsWith('<!--', lt)) {
      pos = src.indexOf('-->', lt) + 3;
    } else if (src.startsWith('<![CDATA[', lt)) {
      const end = src.indexOf(']]>', lt);
      if (stack.length) stack[stack.length - 1]!.parts.push(src.slice(lt + 9, end));
      pos = end + 3;
    } else if (src.startsWith('<!', lt)) {
      pos = src.indexOf('>', lt) + 1;
    } else if (src.startsWith('</', lt)) {
      const end = src.indexOf('>', lt);
      const name = src.slice(lt + 2, end).trim();
      const top = stack.pop();
      if (!top || top.qname !== name) throw new Error(`XML: mismatched closing tag </${name}>`);
      pos = end + 1;
    } else {
      // start tag; find its end while respecting quoted attribute values
      let i = lt + 1;
      let quote = '';
      for (; i < src.length; i++) {
        const ch = src[i]!;
        if (quote) {
          if (ch === quote) quote = '';
        } else if (ch === '"' || ch === "'") quote = ch;
        else if (ch === '>') break;
      }
      let inner = src.slice(lt + 1, i);
      const selfClosing = inner.endsWith('/');
      if (selfClosing) inner = inner.slice(0, -1);
      const m = /^([^\s/>]+)/.exec(inner);
      if (!m) throw new Error('XML: bad start tag');
      const attrs: Record<string, string> = {};
      attrRe.lastIndex = 0;
      let a: RegExpExecArray | null;
      const rest = inner.slice(m[1]!.length);
      while ((a = attrRe.exec(rest))) attrs[a[1]!] = decodeEntities(a[3] ?? a[4] ?? '');
      const parent = stack[stack.length - 1];
      const node = makeNode(
        m[1]!,
        attrs,
        parent ? parent.nsMap : { xml: 'http://www.w3.org/XML/1998/namespace' },
      );
      if (parent) {
        parent.parts.push(node);
        parent.children.push(node);
      } else if (!root) root = node;
      else throw new Error('XML: more than one root element');
      if (!selfClosing) stack.push(node);
      pos = i + 1;
    }
  }
  if (!root) throw new Error('XML: no root element');
  if (stack.length) throw new Error('XML: unclosed elements');
  return root;
}
