/** The encrypted private-key blob (protocol.md §3.5). */
import { fail } from '../errors';
import type { Bytes } from '../crypto/bytes';

export type KdfVariant = { hash: 'SHA-256' | 'SHA-1'; iterations: number };

export const KDF_VARIANTS: KdfVariant[] = [
  { hash: 'SHA-256', iterations: 600_000 },
  { hash: 'SHA-1', iterations: 1024 },
  { hash: 'SHA-1', iterations: 600_000 },
  { hash: 'SHA-1', iterations: 1000 },
];

const TODO = (): never => {
  throw fail(
    'unsupported',
    'Not implemented yet (private-key-blob.ts). This is a development build. Wait for the next commit.',
  );
};
export async function wrapPrivateKey(_pkcs8Der: Bytes, _mnemonic: string[] | string): Promise<string> {
  return TODO();
}
export async function unwrapPrivateKey(
  _blob: string,
  _mnemonic: string[] | string,
  _opts?: { variants?: KdfVariant[] },
): Promise<{ pkcs8: Bytes; kdf: KdfVariant }> {
  return TODO();
}
