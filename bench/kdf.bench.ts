/**
 * Unlock time per KDF variant: PBKDF2 (protocol.md §3.5.2 variants) + one AES-256-GCM unwrap of a
 * private-key-sized payload, and the vault's own unlock (PBKDF2-SHA256/600 000 into a non-extractable
 * CryptoKey + unwrap). Also the worst case of the protocol's try-in-order rule: a legacy
 * SHA-1/600 000 blob costs a failed SHA-256 and a failed SHA-1/1024 attempt first.
 *
 * Works with bench/run.ts (`run(ctx)` → one row per case via ctx.measure) and stand-alone
 * (`run()` returns the rows).
 */
import { randomBytes, utf8, type Bytes } from '../lib/crypto/bytes';
import { gcmDecrypt, gcmEncrypt } from '../lib/crypto/aes-gcm';
import { pbkdf2 } from '../lib/crypto/kdf';
import type { HashName } from '../lib/crypto/hash';
import { deriveWordsKey, newWordsKdf, unwrapSecret, wrapSecret } from '../lib/vault/wrapping';
import type { AccountId } from '../lib/vault/types';
import type { BenchContext } from './harness';

export const name = 'kdf';
export const description = 'unlock time per PBKDF2 variant + AES-GCM unwrap (protocol blob and vault)';

type Row = Record<string, string | number>;

const WORDS = 'abandon ability able about above absent absorb abstract absurd abuse access accident';
const PASSWORD = utf8(WORDS.replace(/\s+/g, ''));
/** Size of the plaintext of a real blob: base64 of a PKCS#8 PEM of an RSA-2048 key. */
const PAYLOAD = randomBytes(2284);

const VARIANTS: Array<{ hash: HashName; iterations: number; runs: number }> = [
  { hash: 'SHA-256', iterations: 600_000, runs: 3 },
  { hash: 'SHA-1', iterations: 1024, runs: 20 },
  { hash: 'SHA-1', iterations: 600_000, runs: 3 },
];

async function sealed(hash: HashName, iterations: number) {
  const salt = randomBytes(40);
  const iv = randomBytes(12);
  const key = await pbkdf2(PASSWORD, salt, iterations, hash, 32);
  return { salt, iv, ct: await gcmEncrypt(key, iv, PAYLOAD) };
}

async function unlockBlob(blob: { salt: Bytes; iv: Bytes; ct: Bytes }, hash: HashName, iterations: number) {
  const key = await pbkdf2(PASSWORD, blob.salt, iterations, hash, 32);
  return gcmDecrypt(key, blob.iv, blob.ct);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function run(ctx?: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  const time = async (caseName: string, runs: number, fn: () => Promise<unknown>): Promise<void> => {
    if (ctx && !ctx.include(caseName)) return;
    const times: number[] = [];
    const once = async (): Promise<string> => {
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      times.push(ms);
      return `${ms.toFixed(1)} ms`;
    };
    if (ctx) {
      await ctx.measure(
        caseName,
        { bytes: PAYLOAD.length, runs, note: 'ignore MB/s; first unlock took' },
        once,
      );
    } else {
      for (let i = 0; i < runs; i++) await once();
    }
    if (times.length === 0) return;
    const row: Row = {
      case: caseName,
      runs: times.length,
      median_ms: Number(median(times).toFixed(1)),
      min_ms: Number(Math.min(...times).toFixed(1)),
    };
    rows.push(row);
    ctx?.log(`  ${caseName}: median ${row.median_ms} ms, min ${row.min_ms} ms over ${row.runs} runs`);
  };

  for (const v of VARIANTS) {
    const blob = await sealed(v.hash, v.iterations);
    await time(`blob PBKDF2-${v.hash}/${v.iterations} + GCM unwrap`, v.runs, () =>
      unlockBlob(blob, v.hash, v.iterations),
    );
  }

  const legacy = await sealed('SHA-1', 600_000);
  await time('blob worst case: try SHA-256/600000, SHA-1/1024, then SHA-1/600000', 2, async () => {
    for (const v of VARIANTS) {
      try {
        return await unlockBlob(legacy, v.hash, v.iterations);
      } catch {
        // GCM tag failure: try the next variant
      }
    }
    throw new Error('no variant opened the blob');
  });

  const accountId = 'alice@https://cloud.example.org' as AccountId;
  const kdf = newWordsKdf();
  const wrapped = await wrapSecret(await deriveWordsKey(WORDS, kdf), 'private-key', accountId, PAYLOAD);
  await time('vault unlock: PBKDF2-SHA-256/600000 → non-extractable key + unwrap', 3, async () =>
    unwrapSecret(await deriveWordsKey(WORDS, kdf), 'private-key', accountId, wrapped),
  );
  return rows;
}

// Stand-alone: `npx tsx bench/kdf.bench.ts`
if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await run());
}
