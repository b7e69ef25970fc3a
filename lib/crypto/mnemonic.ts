/** 12-word recovery phrase from the BIP-39 English list, without checksum (protocol.md §3.5.3, G-13). */
import { fail } from '../errors';
import type { Bytes } from './bytes';

const TODO = (): never => {
  throw fail(
    'unsupported',
    'Not implemented yet (mnemonic.ts). This is a development build. Wait for the next commit.',
  );
};
export function generateMnemonic(): string[] {
  return TODO();
}
export function parseMnemonic(_input: string): string[] {
  return TODO();
}
export function mnemonicKdfPassword(_words: string[] | string): Bytes {
  return TODO();
}
export function suggestWords(_prefix: string, _limit?: number): string[] {
  return TODO();
}
