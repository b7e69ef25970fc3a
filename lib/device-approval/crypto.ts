/**
 * Cryptography of device approval (docs/device-approval.md §2): ephemeral ECDH P-256, a hash
 * commitment to the new device's key, a short verification code over the transcript, and the secret
 * sealed with AES-256-GCM under HKDF-SHA256(ECDH secret, salt = requestId, info = transcript hash).
 */
import { concatBytes, equalBytes, randomBytes, toBase64, utf8, type Bytes } from '../crypto/bytes';
import { gcmDecrypt, gcmEncrypt } from '../crypto/aes-gcm';
import { sha256 } from '../crypto/hash';
import { approvalFail } from './errors';
import { NONCE_BYTES, PUBLIC_KEY_BYTES, type DeviceInfo } from './messages';

const DOMAIN = 'cipherfold-device-approval/v1';
export const CODE_DIGITS = 6;

export interface EphemeralKeyPair {
  /** Non-extractable; never leaves the device that generated it. */
  privateKey: CryptoKey;
  /** Raw uncompressed point (65 bytes). */
  publicKey: Bytes;
}

export async function generateEphemeralKeyPair(): Promise<EphemeralKeyPair> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)) as Bytes;
  return { privateKey: pair.privateKey, publicKey };
}

/** 16 random bytes, base64url without padding (22 characters). */
export function newRequestId(): string {
  return toBase64(randomBytes(16)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function newNonce(): Bytes {
  return randomBytes(NONCE_BYTES);
}

/** commitment = SHA-256(pubN ‖ nonceN); both parts have fixed lengths, so the concatenation is unambiguous. */
export async function commitmentOf(publicKey: Bytes, nonce: Bytes): Promise<Bytes> {
  if (publicKey.length !== PUBLIC_KEY_BYTES || nonce.length !== NONCE_BYTES) {
    throw approvalFail(
      'malformed',
      'A device-approval key or nonce has the wrong length. The data may have been altered. Start again.',
    );
  }
  return sha256(concatBytes(publicKey, nonce));
}

export async function checkCommitment(commitment: Bytes, publicKey: Bytes, nonce: Bytes): Promise<boolean> {
  return equalBytes(await commitmentOf(publicKey, nonce), commitment);
}

function lp(b: Uint8Array): Bytes {
  const out = new Uint8Array(new ArrayBuffer(4 + b.length));
  new DataView(out.buffer).setUint32(0, b.length);
  out.set(b, 4);
  return out as Bytes;
}

export interface Transcript {
  requestId: string;
  createdAt: number;
  expiresAt: number;
  device: DeviceInfo;
  commitment: Bytes;
  newDeviceKey: Bytes;
  trustedDeviceKey: Bytes;
  nonce: Bytes;
}

/**
 * SHA-256 over the length-prefixed fields: domain, requestId, the request's times and device
 * description (so an altered request changes the code), commitment, pubN, pubT, nonceN.
 */
export async function transcriptHash(t: Transcript): Promise<Bytes> {
  const meta = JSON.stringify([t.createdAt, t.expiresAt, t.device.name, t.device.browser]);
  return sha256(
    concatBytes(
      lp(utf8(DOMAIN)),
      lp(utf8(t.requestId)),
      lp(utf8(meta)),
      lp(t.commitment),
      lp(t.newDeviceKey),
      lp(t.trustedDeviceKey),
      lp(t.nonce),
    ),
  );
}

/** Six decimal digits from the transcript hash, shown as "123 456" on both devices. */
export async function verificationCode(transcript: Bytes): Promise<string> {
  const h = await sha256(concatBytes(lp(utf8(`${DOMAIN}/code`)), transcript));
  const n = new DataView(h.buffer).getBigUint64(0) % 10n ** BigInt(CODE_DIGITS);
  const digits = n.toString().padStart(CODE_DIGITS, '0');
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}

async function importPeer(publicKey: Bytes): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey('raw', publicKey, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  } catch (e) {
    throw approvalFail(
      'malformed',
      "The other device's key is not a valid P-256 point. The data may have been altered. Start again.",
      {
        cause: e,
      },
    );
  }
}

/** AES-256-GCM key = HKDF-SHA256(ECDH(own, peer), salt = utf8(requestId), info = transcript hash). */
export async function deriveSessionKey(
  own: CryptoKey,
  peerPublicKey: Bytes,
  requestId: string,
  transcript: Bytes,
): Promise<CryptoKey> {
  const peer = await importPeer(peerPublicKey);
  const shared = new Uint8Array(
    await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, own, 256),
  ) as Bytes;
  try {
    const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    return await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: utf8(requestId), info: transcript },
      ikm,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt', 'decrypt'],
    );
  } finally {
    shared.fill(0);
  }
}

/** AAD binds the ciphertext to this request and both public keys. */
export function secretAad(requestId: string, newDeviceKey: Bytes, trustedDeviceKey: Bytes): Bytes {
  return concatBytes(
    lp(utf8(`${DOMAIN}/secret`)),
    lp(utf8(requestId)),
    lp(newDeviceKey),
    lp(trustedDeviceKey),
  );
}

export async function sealSecret(
  key: CryptoKey,
  aad: Bytes,
  plaintext: Bytes,
): Promise<{ iv: Bytes; ciphertext: Bytes }> {
  const iv = randomBytes(12);
  return { iv, ciphertext: await gcmEncrypt(key, iv, plaintext, aad) };
}

export async function openSecret(key: CryptoKey, aad: Bytes, iv: Bytes, ciphertext: Bytes): Promise<Bytes> {
  try {
    return await gcmDecrypt(key, iv, ciphertext, aad);
  } catch (e) {
    throw approvalFail(
      'decrypt-failed',
      'The approval could not be decrypted. It was altered, replayed from another request, or sent by a device you did not confirm. Nothing was stored; start the approval again.',
      { cause: e },
    );
  }
}
