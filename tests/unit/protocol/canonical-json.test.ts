import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { fromUtf8 } from '../../../lib/crypto/bytes';
import {
  canonicalJson,
  signedContentCandidates,
  storedOrderJson,
  type Json,
} from '../../../lib/protocol/canonical-json';

/** Independent reference: rebuild objects with sorted keys and let JSON.stringify serialise them. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      Object.defineProperty(out, k, { value: sortDeep((v as Record<string, unknown>)[k]), enumerable: true });
    }
    return out;
  }
  return v;
}
const hasIntegerLikeKey = (v: unknown): boolean =>
  Array.isArray(v)
    ? v.some(hasIntegerLikeKey)
    : !!v &&
      typeof v === 'object' &&
      Object.entries(v).some(([k, x]) => /^(0|[1-9]\d*)$/.test(k) || hasIntegerLikeKey(x));

const decodeCandidate = (b: Uint8Array): string => Buffer.from(fromUtf8(b), 'base64').toString('utf8');

describe('canonicalJson', () => {
  it('sorts keys recursively in code-unit order, keeps array order, no whitespace', () => {
    const v: Json = { b: 1, a: [{ z: true, y: null }, 'x'], B: { d: 'é', c: 2.5 }, '\u00e9': 0, aa: -1 };
    expect(canonicalJson(v)).toBe(
      '{"B":{"c":2.5,"d":"é"},"a":[{"y":null,"z":true},"x"],"aa":-1,"b":1,"é":0}',
    );
  });

  it('escapes like JSON.stringify: quotes, backslash, controls; not "/" nor non-ASCII', () => {
    const s = 'a/b"c\\d\n\u0001\u2028😀é';
    expect(canonicalJson({ k: s })).toBe(`{"k":${JSON.stringify(s)}}`);
    expect(canonicalJson({ k: s })).toContain('a/b');
    expect(canonicalJson({ k: s })).toContain('😀é');
    expect(canonicalJson('\ud800')).toBe('"\\ud800"'); // well-formed JSON.stringify
  });

  it('equals sorted JSON.stringify for arbitrary JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        fc.pre(!hasIntegerLikeKey(v));
        return canonicalJson(v as Json) === JSON.stringify(sortDeep(v));
      }),
      { numRuns: 3000 },
    );
  });

  it('always produces JSON that parses back to the same value, with sorted keys (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v as Json);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
        // compact, JSON.stringify escaping: re-serialising the parsed text reproduces it exactly
        if (!hasIntegerLikeKey(v)) expect(JSON.stringify(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects non-finite numbers and absurd nesting with typed errors', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(expect.objectContaining({ kind: 'format' }));
    let deep: Json = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const e = (() => {
      try {
        canonicalJson(deep);
      } catch (x) {
        return x;
      }
      return null;
    })();
    expect(isCipherfoldError(e, 'metadata')).toBe(true);
  });
});

describe('storedOrderJson', () => {
  it('equals JSON.stringify (parse order) for arbitrary JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => storedOrderJson(v as Json) === JSON.stringify(v)),
      { numRuns: 3000 },
    );
  });

  it('reproduces Gson declaration order from the stored text', () => {
    const text =
      '{"metadata":{"ciphertext":"c","nonce":"n","authenticationTag":"t"},"users":[{"userId":"a","certificate":"p","encryptedMetadataKey":"k"}],"version":"2.0"}';
    expect(storedOrderJson(JSON.parse(text) as Json)).toBe(text);
  });

  it('documented limitation: integer-like keys are enumerated first by JavaScript', () => {
    expect(storedOrderJson(JSON.parse('{"b":1,"2":2,"1":3}') as Json)).toBe('{"1":3,"2":2,"b":1}');
  });
});

describe('signedContentCandidates', () => {
  const root = {
    version: '2.0',
    metadata: { nonce: 'bg==', authenticationTag: 'dA==', ciphertext: 'Yw==|bg==' },
    users: [
      {
        userId: 'alice',
        certificate: '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n',
        encryptedMetadataKey: 'aw==',
      },
    ],
    filedrop: { '1a2b': { ciphertext: 'x', nonce: 'y', authenticationTag: 'z', users: [] } },
  };

  it('is base64(UTF-8(sorted JSON without filedrop)) first, as ASCII bytes', () => {
    const c = signedContentCandidates(root as unknown as { [k: string]: Json });
    const expected = JSON.stringify(
      sortDeep({ version: root.version, metadata: root.metadata, users: root.users }),
    );
    expect(fromUtf8(c[0]!)).toBe(Buffer.from(expected, 'utf8').toString('base64'));
    expect(decodeCandidate(c[0]!)).toBe(expected);
    expect(decodeCandidate(c[0]!)).not.toContain('filedrop');
    // then the stored order (Android/Gson): version first here
    expect(c).toHaveLength(2);
    expect(decodeCandidate(c[1]!).startsWith('{"version":"2.0","metadata":{"nonce"')).toBe(true);
  });

  it('drops duplicates: an already-sorted document gives one candidate', () => {
    const sorted = JSON.parse(
      canonicalJson({ metadata: root.metadata, users: root.users, version: '2.0' } as unknown as Json),
    );
    expect(signedContentCandidates(sorted)).toHaveLength(1);
  });

  it('adds the desktop variant without users[].encryptedFiledropKey', () => {
    const doc = { ...root, users: [{ ...root.users[0]!, encryptedFiledropKey: 'Zg==' }] };
    const texts = signedContentCandidates(doc as unknown as { [k: string]: Json }).map(decodeCandidate);
    expect(texts[0]).toContain('encryptedFiledropKey');
    expect(texts[1]).not.toContain('encryptedFiledropKey');
    expect(texts[1]).toBe(
      canonicalJson({ metadata: root.metadata, users: root.users, version: '2.0' } as unknown as Json),
    );
    expect(texts).toHaveLength(4);
    expect(texts.every((t) => !t.includes('filedrop"'))).toBe(true);
  });

  it('handles non-ASCII (UTF-8 before base64, unlike btoa)', () => {
    const c = signedContentCandidates({ metadata: { x: 'ü€😀' }, version: '2.0' });
    expect(decodeCandidate(c[0]!)).toBe('{"metadata":{"x":"ü€😀"},"version":"2.0"}');
    expect([...c[0]!].every((x) => x < 128)).toBe(true);
  });

  it('keeps a "__proto__" member as data (no prototype pollution, no dropped member)', () => {
    const doc = JSON.parse('{"version":"2.0","__proto__":{"x":1},"filedrop":{}}') as { [k: string]: Json };
    const texts = signedContentCandidates(doc).map(decodeCandidate);
    expect(texts[0]).toBe('{"__proto__":{"x":1},"version":"2.0"}');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('does not modify its input', () => {
    const copy = JSON.parse(JSON.stringify(root));
    signedContentCandidates(root as unknown as { [k: string]: Json });
    expect(root).toEqual(copy);
  });

  it('rejects a non-object with a metadata error', () => {
    expect(() => signedContentCandidates([] as unknown as { [k: string]: Json })).toThrow(
      expect.objectContaining({ kind: 'metadata' }),
    );
  });
});
