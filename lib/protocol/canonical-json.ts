/** Canonical JSON forms of the metadata document for signatures (protocol.md §6.8.1, §6.8.2). */
import { fail } from '../errors';
import type { Bytes } from '../crypto/bytes';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const TODO = (): never => {
  throw fail(
    'unsupported',
    'Not implemented yet (canonical-json.ts). This is a development build. Wait for the next commit.',
  );
};
export function canonicalJson(_value: Json): string {
  return TODO();
}
export function storedOrderJson(_value: Json): string {
  return TODO();
}
export function signedContentCandidates(_outerDocument: { [k: string]: Json }): Bytes[] {
  return TODO();
}
