import {
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  pbkdf2Sync,
  randomBytes as nodeRandom,
} from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { copyBytes, equalBytes, fromBase64 } from '../../../lib/crypto/bytes';
import { generateMnemonic } from '../../../lib/crypto/mnemonic';
import {
  KDF_VARIANTS,
  unwrapPrivateKey,
  wrapPrivateKey,
  type KdfVariant,
} from '../../../lib/protocol/private-key-blob';

const node = generateKeyPairSync('rsa', { modulusLength: 1024 });
const pkcs8 = copyBytes(node.privateKey.export({ type: 'pkcs8', format: 'der' }));
const pkcs8Pem = node.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const pkcs1Pem = node.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const words = generateMnemonic();
const phrase = words.join(' ');
const password = Buffer.from(words.join(''), 'utf8');

/** Independent blob writer (Node crypto), parameterised like every historical client. */
function nodeBlob(opts: {
  kdf: KdfVariant;
  plaintext?: string;
  ivLength?: number;
  saltLength?: number;
  separator?: string;
}): string {
  const salt = nodeRandom(opts.saltLength ?? 40);
  const iv = nodeRandom(opts.ivLength ?? 12);
  const key = pbkdf2Sync(
    password,
    salt,
    opts.kdf.iterations,
    32,
    opts.kdf.hash === 'SHA-1' ? 'sha1' : 'sha256',
  );
  const c = createCipheriv('aes-256-gcm', key, iv);
  const pt = Buffer.from(opts.plaintext ?? Buffer.from(pkcs8Pem).toString('base64'), 'utf8');
  const ct = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
  const sep = opts.separator ?? '|';
  return [ct, iv, salt].map((x) => x.toString('base64')).join(sep);
}

async function kindOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (!isCipherfoldError(e)) throw e;
    return e.kind;
  }
}

const CHEAP: KdfVariant[] = [{ hash: 'SHA-1', iterations: 1 }];

describe('KDF_VARIANTS', () => {
  it('lists the variants in the documented order (G-2)', () => {
    expect(KDF_VARIANTS).toEqual([
      { hash: 'SHA-256', iterations: 600000 },
      { hash: 'SHA-1', iterations: 1024 },
      { hash: 'SHA-1', iterations: 600000 },
      { hash: 'SHA-1', iterations: 1000 },
    ]);
  });
});

describe('wrapPrivateKey', () => {
  it('writes the current format, and Node decrypts it independently', async () => {
    const blob = await wrapPrivateKey(pkcs8, phrase);
    const parts = blob.split('|');
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const [ct, iv, salt] = parts.map((p) => Buffer.from(p, 'base64')) as [Buffer, Buffer, Buffer];
    expect(iv.length).toBe(12);
    expect(salt.length).toBe(40);
    const key = pbkdf2Sync(password, salt, 600000, 32, 'sha256');
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(ct.subarray(ct.length - 16));
    const pt = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]).toString('latin1');
    expect(pt).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    // plaintext = base64 of the PKCS#8 PEM with 64-char lines, \n and a trailing newline (= Node's PEM)
    expect(Buffer.from(pt, 'base64').toString('utf8')).toBe(pkcs8Pem);
  });

  it('round-trips, reporting SHA-256/600000, with any spelling of the same words', async () => {
    const blob = await wrapPrivateKey(pkcs8, words);
    const r = await unwrapPrivateKey(blob, `  ${words.join('\n').toUpperCase()} `);
    expect(equalBytes(r.pkcs8, pkcs8)).toBe(true);
    expect(r.kdf).toEqual({ hash: 'SHA-256', iterations: 600000 });
  });

  it('wraps a PKCS#1 key as PKCS#8', async () => {
    const pkcs1 = copyBytes(node.privateKey.export({ type: 'pkcs1', format: 'der' }));
    const r = await unwrapPrivateKey(await wrapPrivateKey(pkcs1, phrase), phrase);
    expect(equalBytes(r.pkcs8, pkcs8)).toBe(true);
  });

  it('refuses empty words and non-keys', async () => {
    expect(await kindOf(wrapPrivateKey(pkcs8, ' \n'))).toBe('mnemonic');
    expect(await kindOf(wrapPrivateKey(fromBase64('AAAA'), phrase))).toBe('format');
  });
});

describe('unwrapPrivateKey: historical blobs made independently with Node', () => {
  it.each(KDF_VARIANTS.map((v, i) => [`${v.hash}/${v.iterations}`, v, i] as const))(
    'opens a %s blob and reports that variant',
    async (_n, kdf) => {
      const r = await unwrapPrivateKey(nodeBlob({ kdf }), phrase);
      expect(r.kdf).toEqual(kdf);
      expect(equalBytes(r.pkcs8, pkcs8)).toBe(true);
    },
  );

  it('opens a desktop-era legacy blob: fA== separators, 16-byte IV, SHA-1/1024', async () => {
    const blob = nodeBlob({ kdf: { hash: 'SHA-1', iterations: 1024 }, ivLength: 16, separator: 'fA==' });
    expect(blob).not.toContain('|');
    expect(blob.split('fA==')).toHaveLength(3);
    const r = await unwrapPrivateKey(blob, phrase, { variants: KDF_VARIANTS.slice(1, 2) });
    expect(r.kdf).toEqual({ hash: 'SHA-1', iterations: 1024 });
    expect(equalBytes(r.pkcs8, pkcs8)).toBe(true);
  });

  const b64 = pkcs8Pem.replace(/-----[A-Z ]+-----|\s/g, '');
  const wrap65 = b64.match(/.{1,65}/g)!.join('\n');
  it.each([
    [
      'Android PEM (65-char lines, no trailing newline)',
      `-----BEGIN PRIVATE KEY-----\n${wrap65}\n-----END PRIVATE KEY-----`,
    ],
    ['CRLF PEM', pkcs8Pem.replace(/\n/g, '\r\n')],
    ['bare DER base64 (no armour)', b64],
    ['PKCS#1 RSA PRIVATE KEY', pkcs1Pem],
  ])('accepts a plaintext of base64(%s)', async (_n, text) => {
    const plaintext = Buffer.from(text, 'utf8').toString('base64');
    const r = await unwrapPrivateKey(nodeBlob({ kdf: CHEAP[0]!, plaintext }), phrase, { variants: CHEAP });
    expect(equalBytes(r.pkcs8, pkcs8)).toBe(true);
  });

  it('accepts a plaintext that is the PEM itself (no extra base64 layer)', async () => {
    const r = await unwrapPrivateKey(nodeBlob({ kdf: CHEAP[0]!, plaintext: pkcs8Pem }), phrase, {
      variants: CHEAP,
    });
    expect(equalBytes(r.pkcs8, pkcs8)).toBe(true);
  });

  it('accepts a plaintext of base64(DER) directly', async () => {
    const r = await unwrapPrivateKey(nodeBlob({ kdf: CHEAP[0]!, plaintext: b64 }), phrase, {
      variants: CHEAP,
    });
    expect(equalBytes(r.pkcs8, pkcs8)).toBe(true);
  });
});

describe('unwrapPrivateKey: errors', () => {
  it('wrong words → mnemonic error after trying every variant', async () => {
    const blob = nodeBlob({ kdf: KDF_VARIANTS[1]! });
    const other = generateMnemonic();
    const e = await unwrapPrivateKey(blob, other).catch((x: unknown) => x);
    expect(isCipherfoldError(e, 'mnemonic')).toBe(true);
    expect((e as Error).message).toMatch(/These words don't open your key\. Check the spelling and order/);
    // The message does not depend on the words (so it cannot carry them): another wrong phrase gives the
    // same text. (Checking for each word as a substring fails by chance: "they" is a BIP-39 word.)
    const e2 = await unwrapPrivateKey(blob, generateMnemonic()).catch((x: unknown) => x);
    expect((e2 as Error).message).toBe((e as Error).message);
    expect((e as Error).message).not.toContain(other.join(' '));
  });

  it('a damaged ciphertext is indistinguishable from wrong words (mnemonic error)', async () => {
    const blob = nodeBlob({ kdf: CHEAP[0]! });
    const ct = Buffer.from(blob.split('|')[0]!, 'base64');
    ct[3]! ^= 1;
    const bad = [ct.toString('base64'), ...blob.split('|').slice(1)].join('|');
    expect(await kindOf(unwrapPrivateKey(bad, phrase, { variants: CHEAP }))).toBe('mnemonic');
  });

  it('empty words → mnemonic error', async () => {
    expect(await kindOf(unwrapPrivateKey(nodeBlob({ kdf: CHEAP[0]! }), '', { variants: CHEAP }))).toBe(
      'mnemonic',
    );
  });

  it.each([
    ['empty', ''],
    ['two parts', 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldY|QUJDREVGR0hJSktM'],
    ['four parts', 'QUJD|QUJD|QUJD|QUJD'],
    ['not base64', '%%%|***|???'],
    ['ciphertext shorter than a tag', 'QUJD|QUJDREVGR0hJSktM|QUJD'],
    ['empty IV', 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldY||QUJD'],
    ['no separators at all', 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldY'],
  ])('malformed blob (%s) → format error', async (_n, blob) => {
    expect(await kindOf(unwrapPrivateKey(blob, phrase, { variants: CHEAP }))).toBe('format');
  });

  it('decrypts but the plaintext is not a key → format error', async () => {
    for (const plaintext of [
      'hello',
      Buffer.from('not a pem').toString('base64'),
      Buffer.from('-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n').toString('base64'),
    ]) {
      expect(
        await kindOf(unwrapPrivateKey(nodeBlob({ kdf: CHEAP[0]!, plaintext }), phrase, { variants: CHEAP })),
      ).toBe('format');
    }
  });
});

describe('unwrapPrivateKey: fuzzing (cheap KDF)', () => {
  const good = nodeBlob({ kdf: CHEAP[0]! });
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=|fA \n%';

  it('mutated valid blobs only produce typed errors (or the right key)', async () => {
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('replace' as const),
        pos: fc.nat(good.length - 1),
        ch: fc.constantFrom(...alphabet),
      }),
      fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(good.length - 1), ch: fc.constant('') }),
      fc.record({
        kind: fc.constant('truncate' as const),
        pos: fc.nat(good.length - 1),
        ch: fc.constant(''),
      }),
      fc.record({
        kind: fc.constant('insert' as const),
        pos: fc.nat(good.length - 1),
        ch: fc.constantFrom(...alphabet),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
        let s = good;
        for (const m of ms) {
          const p = Math.min(m.pos, s.length);
          if (m.kind === 'replace') s = s.slice(0, p) + m.ch + s.slice(p + 1);
          else if (m.kind === 'delete') s = s.slice(0, p) + s.slice(p + 1);
          else if (m.kind === 'truncate') s = s.slice(0, p);
          else s = s.slice(0, p) + m.ch + s.slice(p);
        }
        try {
          const r = await unwrapPrivateKey(s, phrase, { variants: CHEAP });
          return equalBytes(r.pkcs8, pkcs8); // e.g. whitespace insertions are harmless
        } catch (e) {
          return isCipherfoldError(e, 'format') || isCipherfoldError(e, 'mnemonic');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random strings only produce typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 120 }),
          fc
            .array(fc.constantFrom('QUJD', 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldY', '|', 'fA==', '=', ' '), {
              maxLength: 12,
            })
            .map((a) => a.join('')),
        ),
        async (s) => {
          const k = await kindOf(unwrapPrivateKey(s, phrase, { variants: CHEAP }));
          return k === 'format' || k === 'mnemonic';
        },
      ),
      { numRuns: 3000 },
    );
  });
});
