/** File payload encryption for the engine (protocol §8): one-shot AES-128-GCM, blob = ciphertext ‖ tag. */
import { gcmDecrypt, gcmEncrypt } from '../crypto/aes-gcm';
import { randomBytes, type Bytes } from '../crypto/bytes';

export async function encryptFilePayload(
  data: Bytes,
): Promise<{ blob: Bytes; key: Bytes; nonce: Bytes; tag: Bytes }> {
  const key = randomBytes(16);
  const nonce = randomBytes(12);
  const blob = await gcmEncrypt(key, nonce, data);
  return { blob, key, nonce, tag: blob.slice(blob.length - 16) as Bytes };
}

export function decryptFilePayload(blob: Bytes, key: Bytes, nonce: Bytes): Promise<Bytes> {
  return gcmDecrypt(
    key,
    nonce,
    blob,
    undefined,
    "This file's content does not match its checksum. It was damaged or changed on the server. Nothing was saved; ask the owner to upload it again.",
  );
}
