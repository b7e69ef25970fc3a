/**
 * Key setup flows (protocol §9.1–9.3) on top of the HTTP client: first device (new key pair, CSR,
 * certificate checked against the server key, recovery words, wrapped private key uploaded) and a further
 * device (fetch the wrapped key, open it with the words, check it against the certificate).
 */
import { generateMnemonic } from '../crypto/mnemonic';
import { generateRsaKeyPair, importRsaPrivateKey, publicSpkiOf, type RsaPrivateKey } from '../crypto/rsa';
import { fail, isCipherfoldError } from '../errors';
import type { NextcloudClient } from '../nextcloud';
import { certificateMatchesKey, parseCertificate, verifyCertificate } from '../protocol/certificate';
import { createCsr } from '../protocol/csr';
import { unwrapPrivateKey, wrapPrivateKey, type KdfVariant } from '../protocol/private-key-blob';

export interface UserKeys {
  userId: string;
  key: RsaPrivateKey;
  certificatePem: string;
  serverPublicKeyPem: string;
}

export type KeyState = 'none' | 'complete' | 'certificate-only';

/** §9.1: does this user have keys on the server? */
export async function detectKeyState(client: NextcloudClient): Promise<KeyState> {
  try {
    await client.e2ee.getPublicKeys();
  } catch (e) {
    if (isCipherfoldError(e, 'not-found')) return 'none';
    throw e;
  }
  try {
    await client.e2ee.getPrivateKey();
    return 'complete';
  } catch (e) {
    if (isCipherfoldError(e, 'not-found')) return 'certificate-only';
    throw e;
  }
}

/**
 * §9.2: creates keys for a user without any. Returns the keys and the 12 recovery words, which the caller
 * must show to the user (extension chrome only) and never log.
 */
export async function setupFirstDevice(
  client: NextcloudClient,
  options: { serverPublicKeyPem?: string; words?: string[] } = {},
): Promise<UserKeys & { words: string[] }> {
  const userId = await client.userId();
  const serverPublicKeyPem = options.serverPublicKeyPem ?? (await client.e2ee.getServerKey());
  const { privateKey, publicSpki } = await generateRsaKeyPair();
  const csr = await createCsr(privateKey, publicSpki, userId);
  let certificatePem: string;
  try {
    certificatePem = await client.e2ee.createPublicKey(csr);
  } catch (e) {
    if (isCipherfoldError(e, 'conflict')) {
      throw fail(
        'conflict',
        'Encryption keys for this account were created meanwhile, probably by another device. Nothing was changed. Add this device with your recovery words instead.',
        { cause: e },
      );
    }
    throw e;
  }
  const cert = parseCertificate(certificatePem);
  await verifyCertificate(cert, serverPublicKeyPem, { expectedCommonName: userId });
  if (!certificateMatchesKey(cert, publicSpki)) {
    throw fail(
      'certificate',
      'The server returned a certificate for a different key than the one this device created. The server may be misbehaving. Nothing was stored; contact your administrator.',
    );
  }
  const words = options.words ?? generateMnemonic();
  const blob = await wrapPrivateKey(privateKey.pkcs8, words);
  await client.e2ee.storePrivateKey(blob);
  return { userId, key: privateKey, certificatePem, serverPublicKeyPem, words };
}

/** §9.3: opens the stored key with the recovery words and checks it against the verified certificate. */
export async function unlockWithWords(
  client: NextcloudClient,
  words: string[] | string,
  options: { serverPublicKeyPem?: string } = {},
): Promise<UserKeys & { kdf: KdfVariant }> {
  const userId = await client.userId();
  const serverPublicKeyPem = options.serverPublicKeyPem ?? (await client.e2ee.getServerKey());
  const certs = await client.e2ee.getPublicKeys();
  const certificatePem = certs.get(userId);
  if (certificatePem === undefined) {
    throw fail('not-found', 'The server has no certificate for your account. Set up encryption first.');
  }
  return openKeys({
    userId,
    serverPublicKeyPem,
    certificatePem,
    blob: await client.e2ee.getPrivateKey(),
    words,
  });
}

/** Offline part of §9.3, shared with the CLI: unwrap, then check key ⇔ certificate ⇔ server key. */
export async function openKeys(input: {
  userId: string;
  serverPublicKeyPem: string;
  certificatePem: string;
  blob: string;
  words: string[] | string;
}): Promise<UserKeys & { kdf: KdfVariant }> {
  const cert = parseCertificate(input.certificatePem);
  await verifyCertificate(cert, input.serverPublicKeyPem, { expectedCommonName: input.userId });
  const { pkcs8, kdf } = await unwrapPrivateKey(input.blob, input.words);
  const key = await importRsaPrivateKey(pkcs8);
  if (!certificateMatchesKey(cert, await publicSpkiOf(key))) {
    throw fail(
      'certificate',
      'Your private key does not belong to your certificate. The server may hold a replaced certificate. Do not use this account for encrypted folders until your administrator has checked it.',
    );
  }
  return {
    userId: input.userId,
    key,
    certificatePem: input.certificatePem,
    serverPublicKeyPem: input.serverPublicKeyPem,
    kdf,
  };
}
