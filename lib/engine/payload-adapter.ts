/**
 * File payload encryption for the engine (protocol §8), on top of `protocol/payload`: one-shot for data in
 * memory (chunked GCM above 8 MiB), streams for transfers. Blob = ciphertext ‖ 16-byte tag.
 */
import type { Bytes } from '../crypto/bytes';
import {
  decryptPayload,
  decryptPayloadStream,
  encryptPayload,
  encryptPayloadStream,
  payloadBlobSize,
  type EncryptedPayload,
  type PayloadEncryptStream,
} from '../protocol/payload';
import type { GcmDecryptStream } from '../crypto/gcm-stream';

export function encryptFilePayload(data: Bytes): Promise<EncryptedPayload> {
  return encryptPayload(data);
}

/** Resolves only after the tag verified; a bad tag is a `tag` error. */
export function decryptFilePayload(blob: Bytes, key: Bytes, nonce: Bytes): Promise<Bytes> {
  return decryptPayload(blob, key, nonce);
}

/** Fresh key + nonce; plaintext in, blob out; `tag` resolves after the flush. */
export function encryptFileStream(): PayloadEncryptStream {
  return encryptPayloadStream();
}

/** Blob in, UNVERIFIED plaintext out until the stream closes without error (`verified`). */
export function decryptFileStream(key: Bytes, nonce: Bytes): GcmDecryptStream {
  return decryptPayloadStream(key, nonce);
}

export { payloadBlobSize };
