/**
 * A JSON round trip that behaves like PHP's json_decode($text, true) + json_encode($value) with default
 * flags: `/` is escaped as `\/`, non-ASCII becomes `\uXXXX` (lowercase hex), empty objects become `[]`,
 * objects with keys "0".."n-1" in order become lists, number literals keep their text (ints stay ints).
 */

export type PhpValue = null | boolean | string | PhpNumber | PhpValue[] | PhpObject;
export class PhpNumber {
  constructor(readonly raw: string) {}
}
export class PhpObject {
  readonly entries = new Map<string, PhpValue>();
}

export function phpDecode(text: string): PhpValue {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new SyntaxError(`invalid JSON at ${i}`);
  };
  const str = (): string => {
    if (text[i] !== '"') fail();
    i++;
    let out = '';
    for (;;) {
      const c = text[i++];
      if (c === undefined) fail();
      if (c === '"') return out;
      if (c === '\\') {
        const e = text[i++];
        if (e === 'u') {
          const h = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail();
          out += String.fromCharCode(parseInt(h, 16));
          i += 4;
        } else {
          const map: Record<string, string> = {
            '"': '"',
            '\\': '\\',
            '/': '/',
            b: '\b',
            f: '\f',
            n: '\n',
            r: '\r',
            t: '\t',
          };
          const v = e === undefined ? undefined : map[e];
          if (v === undefined) fail();
          out += v;
        }
      } else out += c;
    }
  };
  const value = (): PhpValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = new PhpObject();
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        const k = str();
        ws();
        if (text[i++] !== ':') fail();
        o.entries.delete(k);
        o.entries.set(k, value());
        ws();
        const d = text[i++];
        if (d === '}') return o;
        if (d !== ',') fail();
      }
    }
    if (c === '[') {
      i++;
      const a: PhpValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        const d = text[i++];
        if (d === ']') return a;
        if (d !== ',') fail();
      }
    }
    if (c === '"') return str();
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (m) {
      i += m[0].length;
      return new PhpNumber(m[0]);
    }
    for (const [lit, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return fail();
  };
  const v = value();
  ws();
  if (i !== text.length) fail();
  return v;
}

function encStr(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '/') out += '\\/';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp > 0x7e) {
      for (let k = 0; k < ch.length; k++) out += '\\u' + ch.charCodeAt(k).toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

function phpNumberText(raw: string): string {
  if (/^-?\d+$/.test(raw)) return raw.replace(/^-0$/, '0');
  const n = Number(raw);
  let t = String(n);
  if (!/[.eE]/.test(t)) t += '.0';
  return t.replace(/e\+?/, '.0e+').replace('.0.0e', '.0e');
}

export function phpEncode(v: PhpValue): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return encStr(v);
  if (v instanceof PhpNumber) return phpNumberText(v.raw);
  if (Array.isArray(v)) return '[' + v.map(phpEncode).join(',') + ']';
  const keys = [...v.entries.keys()];
  if (keys.length === 0 || keys.every((k, idx) => k === String(idx))) {
    return '[' + [...v.entries.values()].map(phpEncode).join(',') + ']';
  }
  return '{' + keys.map((k) => encStr(k) + ':' + phpEncode(v.entries.get(k)!)).join(',') + '}';
}

/**
 * Merge filedrop entries into the top-level `filedrop` member of a stored metadata document and re-encode
 * the whole document like PHP. Throws SyntaxError if either input is not a JSON object.
 */
export function mergeFiledrop(storedText: string, filedropJson: string): { text: string; input: PhpObject } {
  const doc = phpDecode(storedText);
  const input = phpDecode(filedropJson);
  if (!(doc instanceof PhpObject)) throw new SyntaxError('metadata is not an object');
  if (!(input instanceof PhpObject)) throw new SyntaxError('filedrop is not an object');
  const existing = doc.entries.get('filedrop');
  const fd = existing instanceof PhpObject ? existing : new PhpObject();
  if (Array.isArray(existing)) existing.forEach((x, idx) => fd.entries.set(String(idx), x));
  for (const [k, val] of input.entries) fd.entries.set(k, val);
  doc.entries.set('filedrop', fd);
  return { text: phpEncode(doc), input };
}

/** Convert to plain JS (for echoing the decoded input in a JSON response). */
export function phpToJs(v: PhpValue): unknown {
  if (v instanceof PhpNumber) return Number(v.raw);
  if (Array.isArray(v)) return v.map(phpToJs);
  if (v instanceof PhpObject) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v.entries) o[k] = phpToJs(x);
    return o;
  }
  return v;
}
