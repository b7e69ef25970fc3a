import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { copyBytes, equalBytes, randomBytes, toBase64, type Bytes } from '../../../lib/crypto/bytes';
import { pemDecode, pemEncode } from '../../../lib/crypto/pem';

const node = generateKeyPairSync('rsa', { modulusLength: 1024 });
const nodePem = node.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const der = copyBytes(node.privateKey.export({ type: 'pkcs8', format: 'der' }));

function kindOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (!isCipherfoldError(e)) throw e;
    return e.kind;
  }
}

function wrap(b64: string, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += n) out.push(b64.slice(i, i + n));
  return out.join('\n');
}

describe('pemEncode', () => {
  it('writes exactly what Node/OpenSSL write (64-char lines, \\n, trailing newline)', () => {
    expect(pemEncode('PRIVATE KEY', der)).toBe(nodePem);
    const spki = copyBytes(node.publicKey.export({ type: 'spki', format: 'der' }));
    expect(pemEncode('PUBLIC KEY', spki)).toBe(
      node.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
  });

  it('handles lengths that are exact multiples of 48 bytes', () => {
    const pem = pemEncode('X', randomBytes(96));
    expect(pem.split('\n')).toEqual([
      '-----BEGIN X-----',
      expect.any(String),
      expect.any(String),
      '-----END X-----',
      '',
    ]);
  });
});

describe('pemDecode', () => {
  const b64 = toBase64(der);
  const cases: [string, string][] = [
    ['Node PEM', nodePem],
    ['CRLF', nodePem.replace(/\n/g, '\r\n')],
    [
      'Android 65-char lines, no trailing newline',
      `-----BEGIN PRIVATE KEY-----\n${wrap(b64, 65)}\n-----END PRIVATE KEY-----`,
    ],
    ['one long line', `-----BEGIN PRIVATE KEY-----${b64}-----END PRIVATE KEY-----`],
    [
      'surrounding text and indentation',
      `junk\n  -----BEGIN PRIVATE KEY-----\n  ${wrap(b64, 76).replace(/\n/g, '\n  ')}\n  -----END PRIVATE KEY-----\ntrailer`,
    ],
    [
      'missing padding',
      `-----BEGIN PRIVATE KEY-----\n${b64.replace(/=+$/, '')}\n-----END PRIVATE KEY-----\n`,
    ],
  ];
  it.each(cases)('reads %s', (_name, text) => {
    const r = pemDecode(text, ['PRIVATE KEY', 'RSA PRIVATE KEY']);
    expect(r.label).toBe('PRIVATE KEY');
    expect(equalBytes(r.der, der)).toBe(true);
  });

  it('reads bare base64 (label null), with or without line breaks', () => {
    for (const text of [b64, wrap(b64, 64), `  ${wrap(b64, 10)}\r\n`]) {
      const r = pemDecode(text, ['PRIVATE KEY']);
      expect(r.label).toBeNull();
      expect(equalBytes(r.der, der)).toBe(true);
    }
  });

  it('returns the first block when there are several', () => {
    const a = pemEncode('CERTIFICATE', Uint8Array.of(1, 2, 3) as Bytes);
    const c = pemEncode('CERTIFICATE', Uint8Array.of(4, 5) as Bytes);
    expect([...pemDecode(a + c).der]).toEqual([1, 2, 3]);
  });

  it('rejects an unexpected label with a format error naming it', () => {
    let msg = '';
    try {
      pemDecode(nodePem, ['CERTIFICATE']);
    } catch (e) {
      expect(isCipherfoldError(e, 'format')).toBe(true);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/PRIVATE KEY/);
  });

  it('rejects encrypted legacy PEM as unsupported', () => {
    const enc = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n${wrap(b64, 64)}\n-----END RSA PRIVATE KEY-----\n`;
    expect(kindOf(() => pemDecode(enc))).toBe('unsupported');
  });

  it.each([
    ['empty', ''],
    ['whitespace', ' \n '],
    ['no END line', `-----BEGIN PRIVATE KEY-----\n${b64}\n`],
    ['mismatched END label', `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`],
    ['empty body', '-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n'],
    ['bad base64 in body', '-----BEGIN PRIVATE KEY-----\nab$d\n-----END PRIVATE KEY-----\n'],
    ['not base64', 'hello, I am not a certificate'],
    ['lowercase label', `-----BEGIN private key-----\n${b64}\n-----END private key-----\n`],
  ])('rejects %s with a format error', (_n, text) => {
    expect(kindOf(() => pemDecode(text))).toBe('format');
  });

  it('round-trips arbitrary DER and labels (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.constantFrom('CERTIFICATE', 'PUBLIC KEY', 'PRIVATE KEY', 'CERTIFICATE REQUEST'),
        fc.constantFrom('\n', '\r\n'),
        (bytes, label, eol) => {
          const pem = pemEncode(label, copyBytes(bytes)).replace(/\n/g, eol);
          const r = pemDecode(pem, [label]);
          return r.label === label && equalBytes(r.der, bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('fuzz: arbitrary text only ever yields a typed error (property)', () => {
    const pieces = fc.constantFrom(
      '-----BEGIN ',
      '-----END ',
      '-----',
      'CERTIFICATE',
      'PRIVATE KEY',
      '\n',
      '\r\n',
      ':',
      '=',
      'QUJD',
      ' ',
      'A',
      '\u00e9',
    );
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(pieces, { maxLength: 40 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(text, (t) => {
        const k = kindOf(() => pemDecode(t, ['CERTIFICATE']));
        return k === null || k === 'format' || k === 'unsupported';
      }),
      { numRuns: 5000 },
    );
  });

  it('fuzz: mutated valid PEM only ever yields a typed error or some bytes (property)', () => {
    fc.assert(
      fc.property(fc.nat(nodePem.length - 1), fc.integer({ min: 0, max: 127 }), (pos, ch) => {
        const t = nodePem.slice(0, pos) + String.fromCharCode(ch) + nodePem.slice(pos + 1);
        const k = kindOf(() => pemDecode(t, ['PRIVATE KEY']));
        return k === null || k === 'format' || k === 'unsupported';
      }),
      { numRuns: 3000 },
    );
  });

  it('does not take quadratic time on many unterminated BEGIN lines', () => {
    const t = '-----BEGIN A-----'.repeat(50_000);
    const start = performance.now();
    expect(kindOf(() => pemDecode(t))).toBe('format');
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
