/**
 * File payloads of end-to-end encrypted folders (protocol §8).
 *
 * Every file version is one AES-128-GCM message: fresh random 16-byte key and 12-byte nonce, no AAD,
 * 128-bit tag. The stored blob (the WebDAV file named by its uuid) is ciphertext ‖ 16-byte tag, exactly
 * len(plaintext) + 16 bytes. Readers accept any nonce length (desktop, Android and iOS write 16 bytes).
 *
 * Small payloads use one WebCrypto call; larger ones use the chunked implementation in
 * `crypto/gcm-stream.ts` (same bytes, bounded per-call size; a single WebCrypto call fails at about
 * 2 GiB in browsers). Streams are offered for data that should never be held in memory as a whole.
 */
import { fail } from '../errors';
import { gcmDecrypt, gcmEncrypt } from '../crypto/aes-gcm';
import { copyBytes, randomBytes, type Bytes } from '../crypto/bytes';
import {
  GCM_MAX_MESSAGE_BYTES,
  GCM_STREAM_TAG_LENGTH,
  GcmDecryptStream,
  GcmEncryptStream,
  gcmDecryptChunked,
  gcmEncryptChunked,
} from '../crypto/gcm-stream';

export const PAYLOAD_KEY_LENGTH = 16;
export const PAYLOAD_NONCE_LENGTH = 12;
export const PAYLOAD_TAG_LENGTH = GCM_STREAM_TAG_LENGTH;
/** Largest plaintext handled with a single WebCrypto call; see docs/streaming-gcm.md for the numbers. */
export const PAYLOAD_ONE_SHOT_MAX = 8 * 1024 * 1024;
/** GCM's limit for one message (64 GiB - 32 bytes); larger files cannot be stored in this format. */
export const PAYLOAD_MAX_PLAINTEXT = GCM_MAX_MESSAGE_BYTES;

export const PAYLOAD_TAG_MESSAGE =
  "This file's content does not match its checksum. It was damaged or changed on the server. Nothing was saved; ask the owner to upload it again.";

export interface EncryptedPayload {
  /** ciphertext ‖ tag: upload this as the file named by the metadata uuid. */
  blob: Bytes;
  /** Fresh 16-byte key for the metadata `key` member. */
  key: Bytes;
  /** Fresh 12-byte nonce for the metadata `nonce` member. */
  nonce: Bytes;
  /** The trailing 16 bytes of `blob`, for the metadata `authenticationTag` member. */
  tag: Bytes;
}

export interface PayloadEncryptStream {
  key: Bytes;
  nonce: Bytes;
  /** Plaintext in, blob (ciphertext ‖ tag) out. */
  stream: GcmEncryptStream;
  /** Resolves with the tag once `stream` has flushed; rejects if it fails. */
  tag: Promise<Bytes>;
}

export type PayloadStrategy = 'one-shot' | 'stream';

/**
 * How to process a payload whose plaintext size is `size` (undefined: unknown, e.g. no Content-Length).
 * 'one-shot': small enough to hold in memory and hand to WebCrypto at once; 'stream': use
 * `encryptPayloadStream` / `decryptPayloadStream`. Only 12- and 16-byte nonces go to WebCrypto directly
 * (Node's WebCrypto refuses nonces shorter than 12 bytes); other lengths use the chunked code.
 */
export function payloadStrategy(
  size: number | undefined,
  nonceLength = PAYLOAD_NONCE_LENGTH,
): PayloadStrategy {
  if (size === undefined || !Number.isFinite(size) || size < 0) return 'stream';
  return size <= PAYLOAD_ONE_SHOT_MAX && (nonceLength === 12 || nonceLength === 16) ? 'one-shot' : 'stream';
}

/** Blob size for a plaintext of `plaintextSize` bytes. */
export function payloadBlobSize(plaintextSize: number): number {
  return plaintextSize + PAYLOAD_TAG_LENGTH;
}

/** The tag at the end of a blob (compare with metadata `authenticationTag` only to warn; §8). */
export function payloadTag(blob: Uint8Array): Bytes {
  if (blob.length < PAYLOAD_TAG_LENGTH) throw fail('tag', PAYLOAD_TAG_MESSAGE);
  return copyBytes(blob.subarray(blob.length - PAYLOAD_TAG_LENGTH));
}

function checkKey(key: Uint8Array): void {
  // Writers use 16 bytes (AES-128); a 32-byte key would be unambiguous AES-256, so it is read too.
  if (!(key instanceof Uint8Array) || (key.length !== 16 && key.length !== 32)) {
    throw fail(
      'metadata',
      'A file key in the folder metadata has the wrong length. The metadata may be damaged. Ask the owner to upload the file again.',
    );
  }
}

function checkNonce(nonce: Uint8Array): void {
  if (!(nonce instanceof Uint8Array) || nonce.length < 1) {
    throw fail(
      'metadata',
      'A file nonce in the folder metadata is empty. The metadata may be damaged. Ask the owner to upload the file again.',
    );
  }
}

function checkSize(size: number): void {
  if (size > PAYLOAD_MAX_PLAINTEXT) {
    throw fail(
      'unsupported',
      'The file is larger than end-to-end encryption allows (64 GiB). It cannot be uploaded; split it into smaller files.',
    );
  }
}

/** Encrypts a whole file held in memory with a fresh key and nonce. */
export async function encryptPayload(plaintext: Bytes): Promise<EncryptedPayload> {
  checkSize(plaintext.length);
  const key = randomBytes(PAYLOAD_KEY_LENGTH);
  const nonce = randomBytes(PAYLOAD_NONCE_LENGTH);
  const blob =
    payloadStrategy(plaintext.length) === 'one-shot'
      ? await gcmEncrypt(key, nonce, plaintext)
      : await gcmEncryptChunked(key, nonce, plaintext);
  return { blob, key, nonce, tag: payloadTag(blob) };
}

/**
 * Decrypts a whole blob held in memory; resolves only after the tag verified. A bad tag (damage,
 * tampering, wrong key) is a `tag` CipherfoldError with PAYLOAD_TAG_MESSAGE.
 */
export async function decryptPayload(blob: Bytes, key: Bytes, nonce: Bytes): Promise<Bytes> {
  checkKey(key);
  checkNonce(nonce);
  if (blob.length < PAYLOAD_TAG_LENGTH) throw fail('tag', PAYLOAD_TAG_MESSAGE);
  const size = blob.length - PAYLOAD_TAG_LENGTH;
  if (payloadStrategy(size, nonce.length) === 'one-shot') {
    return gcmDecrypt(key, nonce, blob, undefined, PAYLOAD_TAG_MESSAGE);
  }
  return gcmDecryptChunked(key, nonce, blob, { tagErrorMessage: PAYLOAD_TAG_MESSAGE });
}

/**
 * Streaming encryption with a fresh key and nonce: pipe the plaintext through `stream` and upload what
 * comes out (its length is plaintext + 16). Record key, nonce and the resolved tag in the metadata.
 */
export function encryptPayloadStream(): PayloadEncryptStream {
  const key = randomBytes(PAYLOAD_KEY_LENGTH);
  const nonce = randomBytes(PAYLOAD_NONCE_LENGTH);
  const stream = new GcmEncryptStream(key, nonce);
  return { key, nonce, stream, tag: stream.tag };
}

/**
 * Streaming decryption of a blob (ciphertext ‖ tag). Plaintext is emitted as it is decrypted and is
 * UNVERIFIED until the stream closes without error: write it somewhere temporary and keep it only then.
 * On a bad tag the stream errors with a `tag` CipherfoldError carrying PAYLOAD_TAG_MESSAGE (the last
 * piece is withheld, so a failed stream never yields the complete file); `verified` settles likewise.
 */
export function decryptPayloadStream(key: Bytes, nonce: Bytes): GcmDecryptStream {
  checkKey(key);
  checkNonce(nonce);
  return new GcmDecryptStream(key, nonce, { tagErrorMessage: PAYLOAD_TAG_MESSAGE });
}
