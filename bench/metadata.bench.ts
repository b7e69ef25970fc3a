/**
 * Opening a large encrypted folder: a root whose metadata lists 10,000 files (≈ what a busy folder
 * holds). Measures the full reading path of one document — parse the outer JSON, verify the CMS
 * signature and the member certificates against the server key, RSA-unwrap the metadata key, decrypt +
 * gunzip + parse the inner document, key checksum and counter checks — and, separately, writing it
 * (encrypt + sign) as an upload would.
 */
import { utf8 } from '../lib/crypto/bytes';
import { generateRsaKeyPair } from '../lib/crypto/rsa';
import { createCsr } from '../lib/protocol/csr';
import {
  createRootDraft,
  newUuid32,
  putFile,
  serialiseRoot,
  verifyRootMetadata,
  type RootDraft,
  type UserId,
} from '../lib/protocol/metadata';
import { issueCertificate, loadServerKeys, readCsr } from '../tests/server/certs';
import type { BenchContext } from './harness';

export const name = 'metadata';
export const description = 'open (verify + decrypt + parse) and write a root folder with 10,000 files';

export async function run(ctx: BenchContext): Promise<void> {
  const server = await loadServerKeys(undefined, undefined);
  const { privateKey, publicSpki } = await generateRsaKeyPair();
  const csr = await readCsr(await createCsr(privateKey, publicSpki, 'alice'));
  if (!csr.ok) throw new Error('CSR rejected');
  const certificatePem = await issueCertificate(csr, server, 'SHA-256');
  const signer = { key: privateKey, certificatePem };

  for (const count of [1_000, 10_000]) {
    let draft: RootDraft = await createRootDraft({ userId: 'alice' as UserId, certificatePem });
    for (let i = 0; i < count; i++) {
      draft = putFile(draft, newUuid32(), {
        filename: `Document number ${i} — quarterly report.pdf`,
        mimetype: 'application/pdf',
        key: crypto.getRandomValues(new Uint8Array(16)),
        nonce: crypto.getRandomValues(new Uint8Array(12)),
        authenticationTag: crypto.getRandomValues(new Uint8Array(16)),
      } as Parameters<typeof putFile>[2]);
    }
    let doc = await serialiseRoot(draft, signer);
    const bytes = utf8(doc.text).length;
    await ctx.measure(
      `write ${count} files (encrypt + sign)`,
      { bytes, runs: 3, note: `${(bytes / 1e6).toFixed(2)} MB document` },
      async () => {
        doc = await serialiseRoot(draft, signer);
      },
    );
    await ctx.measure(`open ${count} files (verify + decrypt + parse)`, { bytes, runs: 5 }, async () => {
      const v = await verifyRootMetadata({
        document: doc.text,
        signature: doc.signature,
        self: { userId: 'alice', key: privateKey },
        serverPublicKeyPem: server.spkiPem,
      });
      if (v.inner.files.size !== count) throw new Error('wrong file count');
    });
  }
}
