/** Lenient PEM reader and strict PEM writer. */
import { fail } from '../errors';
import type { Bytes } from './bytes';

export function pemDecode(_text: string, _expectedLabels?: string[]): { label: string | null; der: Bytes } {
  throw fail(
    'unsupported',
    'Not implemented yet (pem.ts). This is a development build. Wait for the next commit.',
  );
}
export function pemEncode(_label: string, _der: Bytes): string {
  throw fail(
    'unsupported',
    'Not implemented yet (pem.ts). This is a development build. Wait for the next commit.',
  );
}
