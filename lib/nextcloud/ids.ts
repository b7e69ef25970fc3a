/** Constructors for the branded id types (validate, then brand). */
import { fail } from '../errors';
import type { FileId, LockToken, ShareId, ShareToken, UserId } from './types';

function badId(what: string): Error {
  return fail(
    'format',
    `${what} is malformed. The data may be damaged or come from an unexpected source. Reload and try again.`,
  );
}

/** A numeric file id (number or decimal string; leading zeros are removed). */
export function asFileId(x: string | number): FileId {
  const s = typeof x === 'number' ? (Number.isSafeInteger(x) && x >= 0 ? String(x) : '') : x.trim();
  if (!/^\d{1,19}$/.test(s)) throw badId('A file id');
  const stripped = s.replace(/^0+(?=\d)/, '');
  return stripped as FileId;
}

/** Parses `OC-FileId` (`00000123ocabc…`): leading digits → number → decimal string. */
export function fileIdFromHeader(header: string | null): FileId | undefined {
  if (header === null) return undefined;
  const m = /^\s*(\d+)/.exec(header);
  if (m === null) return undefined;
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n)) return undefined;
  return String(n) as FileId;
}

export function asUserId(x: string): UserId {
  // eslint-disable-next-line no-control-regex
  if (x === '' || x.length > 255 || /[\u0000-\u001f/\\]/.test(x)) throw badId('A user id');
  return x as UserId;
}

export function asLockToken(x: string): LockToken {
  if (x === '' || x.length > 1024 || !/^[\x21-\x7e]+$/.test(x)) throw badId('A lock token');
  return x as LockToken;
}

export function asShareId(x: string | number): ShareId {
  const s = String(x);
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(s)) throw badId('A share id');
  return s as ShareId;
}

export function asShareToken(x: string): ShareToken {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(x)) throw badId('A share token');
  return x as ShareToken;
}
