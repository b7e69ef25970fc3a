/**
 * Fuzzing of the metadata readers: every input must end in a value or a typed CipherfoldError — no other
 * exception, no crash, no hang. Counts (default run): see RUNS; total ≥ 10 000 generated cases.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import {
  decryptInnerDocument,
  parseInnerDocument,
  parseMetadata,
  parseMetadataValue,
  verifyMetadata,
  verifyRootMetadata,
  verifySubMetadata,
  type VerifiedRoot,
} from '../../../../lib/protocol/metadata';
import { CipherfoldError } from '../../../../lib/errors';
import { b64, makeWorld, nodeEncryptJson, type World } from './fixtures';
import { buildDoc, fileJson, hexId, innerDoc, type BuiltDoc } from './docs';

const RUNS = {
  outerText: 2500,
  outerStructures: 2500,
  innerStructures: 2500,
  mutatedDocuments: 1500,
  encryptedInner: 800,
  subDocuments: 400,
  v1Structures: 300,
};

let w: World;
let doc: BuiltDoc;
let root: VerifiedRoot;
let cases = 0;

beforeAll(async () => {
  w = await makeWorld();
  const key = randomBytes(16);
  doc = await buildDoc({
    users: [w.alice, w.bob],
    inner: innerDoc({ files: { [hexId()]: fileJson('a') }, folders: { [hexId()]: 'd' } }, key),
    key,
    filedropLiteral: '{}',
    signAs: w.alice,
  });
  root = await verifyRootMetadata({
    document: doc.text,
    signature: doc.signature,
    self: { userId: 'alice', key: w.alice.key },
    serverPublicKeyPem: w.serverPem,
  });
});

/** Runs `f` and accepts only success or a CipherfoldError. */
async function typed(f: () => unknown): Promise<void> {
  cases++;
  try {
    await f();
  } catch (e) {
    if (!(e instanceof CipherfoldError)) {
      throw new Error(`untyped ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    }
    expect(typeof e.kind).toBe('string');
  }
}

const NAMES = [
  'metadata',
  'users',
  'version',
  'filedrop',
  'ciphertext',
  'nonce',
  'authenticationTag',
  'userId',
  'certificate',
  'encryptedMetadataKey',
  'encryptedFiledropKey',
  'metadataKeys',
  'metadataKey',
  'checksum',
  'files',
  'folders',
  'counter',
  'deleted',
  'keyChecksums',
  'filename',
  'mimetype',
  'key',
  'initializationVector',
  'encrypted',
  '__proto__',
  'constructor',
  'toString',
  hexId(),
  hexId().toUpperCase(),
  '0',
  '1',
];
const SCALARS = fc.oneof(
  fc.constantFrom(
    '2',
    '2.0',
    '2.1',
    '1.2',
    '1.0',
    2,
    2.1,
    1.2,
    1,
    0,
    -1,
    1e308,
    '',
    'AAAA',
    '|',
    'fA==',
    'A|B',
    true,
    false,
    null,
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.base64String({ maxLength: 64 }),
  fc.constant(b64(randomBytes(16))),
  fc.constant('httpd/unix-directory'),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    SCALARS,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...NAMES), tie('tree'), { maxKeys: 6 }),
  ),
}));

/** A JSON path mutation: replace one node of `value` with `replacement`. */
function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || typeof value !== 'object' || value === null) return replacement;
  const [i, ...rest] = path;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const copy = [...value];
    const j = i! % copy.length;
    copy[j] = mutate(copy[j], rest, replacement);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const k = keys[i! % keys.length]!;
  return {
    ...(value as Record<string, unknown>),
    [k]: mutate((value as Record<string, unknown>)[k], rest, replacement),
  };
}

describe('fuzz: outer parser', () => {
  it('random text and JSON text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 4 })), async (s) => {
        await typed(() => parseMetadata(s));
      }),
      { numRuns: RUNS.outerText },
    );
  });

  it('random structures over the metadata vocabulary, plus hostile nesting', async () => {
    await fc.assert(
      fc.asyncProperty(tree, async (v) => {
        await typed(() => parseMetadataValue(v));
        await typed(() => parseMetadataValue({ metadata: { version: v } }));
      }),
      { numRuns: RUNS.outerStructures },
    );
    for (const deep of [
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
    ]) {
      await typed(() => parseMetadata(deep));
    }
    expect(() => parseMetadata('['.repeat(100_000) + ']'.repeat(100_000))).toThrow(CipherfoldError);
  });
});

describe('fuzz: inner parser', () => {
  it('random inner structures and mutated valid inner documents', async () => {
    const valid = innerDoc(
      { files: { [hexId()]: fileJson('x') }, folders: { [hexId()]: 'y' } },
      randomBytes(16),
    );
    await fc.assert(
      fc.asyncProperty(tree, fc.array(fc.nat(), { maxLength: 4 }), async (v, path) => {
        await typed(() => parseInnerDocument(v));
        await typed(() => parseInnerDocument(mutate(valid, path, v)));
      }),
      { numRuns: RUNS.innerStructures },
    );
  });
});

describe('fuzz: whole documents', () => {
  it('mutated JSON (structure and text) through full verification', async () => {
    const parsed = JSON.parse(doc.text) as unknown;
    const textMutation = fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.string({ maxLength: 6 }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .tuple(fc.array(fc.nat(), { maxLength: 5 }), tree)
            .map(([p, v]) => JSON.stringify(mutate(parsed, p, v))),
          textMutation.map(([at, del, ins]) => {
            const i = at % doc.text.length;
            return doc.text.slice(0, i) + ins + doc.text.slice(i + del);
          }),
        ),
        fc.boolean(),
        async (text, keepSignature) => {
          await typed(() =>
            verifyMetadata({
              document: text,
              signature: keepSignature ? doc.signature : b64(randomBytes(8)),
              self: { userId: 'alice', key: w.alice.key },
              serverPublicKeyPem: w.serverPem,
              root,
            }),
          );
        },
      ),
      { numRuns: RUNS.mutatedDocuments },
    );
  });

  it('validly encrypted but arbitrary inner plaintexts (random JSON, random bytes, broken gzip)', async () => {
    const key = new Uint8Array(randomBytes(16)) as Uint8Array<ArrayBuffer>;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          tree.map((v) => JSON.stringify(v) ?? 'null'),
          fc.string({ maxLength: 100 }),
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        fc.constantFrom(12, 16, 1),
        fc.boolean(),
        async (plain, nonceLength, corruptGzip) => {
          const { ct, nonce } = nodeEncryptJson(plain, key, nonceLength);
          if (corruptGzip) {
            // re-encrypt a corrupted gzip stream with the right key (tests the gunzip error path)
            const { createCipheriv } = await import('node:crypto');
            const { gzipSync } = await import('node:zlib');
            const z = gzipSync(Buffer.from(plain));
            const at = Math.min(z.length - 1, 12);
            z[at] = z[at]! ^ 0xff;
            const c = createCipheriv('aes-128-gcm', key, nonce);
            const body = Buffer.concat([c.update(z), c.final(), c.getAuthTag()]);
            await typed(() =>
              decryptInnerDocument(
                { ciphertext: b64(body), nonce: b64(nonce), authenticationTag: undefined },
                key,
              ),
            );
            return;
          }
          await typed(() =>
            decryptInnerDocument({ ciphertext: b64(ct), nonce: b64(nonce), authenticationTag: 'x' }, key),
          );
        },
      ),
      { numRuns: RUNS.encryptedInner },
    );
  });

  it('signed sub-folder documents with arbitrary (validly encrypted) inner content', async () => {
    await fc.assert(
      fc.asyncProperty(tree, async (v) => {
        const inner = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { files: v }) as Record<
          string,
          unknown
        >;
        const sub = await buildDoc({ inner, key: Buffer.from(root.metadataKey), signAs: w.bob });
        await typed(() => verifySubMetadata({ document: sub.text, signature: sub.signature, root }));
      }),
      { numRuns: RUNS.subDocuments },
    );
  });

  it('random 1.x structures through the legacy reader', async () => {
    await fc.assert(
      fc.asyncProperty(tree, tree, async (m, files) => {
        const meta = typeof m === 'object' && m !== null && !Array.isArray(m) ? m : { metadataKey: m };
        await typed(() =>
          verifyMetadata({
            document: JSON.stringify({ metadata: { ...meta, version: 1.2 }, files }),
            signature: undefined,
            self: { userId: 'alice', key: w.alice.key },
            serverPublicKeyPem: w.serverPem,
            mnemonic: 'a b c',
          }),
        );
      }),
      { numRuns: RUNS.v1Structures },
    );
  });

  it('generated at least 10 000 cases in total', () => {
    expect(cases).toBeGreaterThanOrEqual(10_000);
  });
});
