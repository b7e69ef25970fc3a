/** Fingerprints for TOFU pinning: SHA-256 over the DER inside a PEM (armour, line ends and label ignored). */
import { sha256 } from '@noble/hashes/sha2.js';
import { fail } from '../errors';
import { fromBase64, toHex } from '../crypto/bytes';

export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN [^-\r\n]+-----([\s\S]*?)-----END [^-\r\n]+-----/.exec(pem);
  const body = (m ? m[1]! : pem).replace(/\s+/g, '');
  if (body.length === 0 || body.length > 65_536) {
    throw fail(
      'format',
      'A key or certificate is empty or too large. The server may have answered wrongly. Try again later.',
    );
  }
  return fromBase64(body, 'A key or certificate');
}

/** lowercase hex SHA-256 of the DER. */
export function pemFingerprint(pem: string): string {
  return toHex(sha256(pemToDer(pem)));
}
