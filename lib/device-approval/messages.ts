/**
 * Files exchanged through the user's own storage during device approval (docs/device-approval.md §3).
 * Every file is UTF-8 JSON with `"cipherfold": "device-approval"`, `"v": 1`, a `type` and the
 * `requestId`. Parsers are strict (unknown members are refused, sizes are bounded) and throw only
 * `DeviceApprovalError('malformed')`.
 */
import { fromBase64, fromUtf8, toBase64, utf8, type Bytes } from '../crypto/bytes';
import { approvalFail } from './errors';

export const PROTOCOL_ID = 'device-approval';
export const PROTOCOL_VERSION = 1;
/** Requests live at most 10 minutes. */
export const MAX_REQUEST_TTL_MS = 10 * 60_000;
/** Tolerated clock difference between devices for `createdAt`. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
export const MAX_FILE_BYTES = 16 * 1024;
export const MAX_SECRET_CIPHERTEXT_BYTES = 8 * 1024;
export const PUBLIC_KEY_BYTES = 65; // uncompressed P-256 point
export const NONCE_BYTES = 32;
export const COMMITMENT_BYTES = 32;
export const REQUEST_ID_RE = /^[A-Za-z0-9_-]{22}$/;

export interface DeviceInfo {
  name: string;
  browser: string;
}

export interface RequestMessage {
  type: 'request';
  requestId: string;
  createdAt: number;
  expiresAt: number;
  device: DeviceInfo;
  commitment: Bytes;
}

export interface AnswerMessage {
  type: 'answer';
  requestId: string;
  publicKey: Bytes;
}

export interface RevealMessage {
  type: 'reveal';
  requestId: string;
  publicKey: Bytes;
  nonce: Bytes;
  /** The trusted device's key this device answered to (so other trusted devices can stand down). */
  peerPublicKey: Bytes;
}

export interface ApprovalMessage {
  type: 'approval';
  requestId: string;
  iv: Bytes;
  ciphertext: Bytes;
}

export type RejectionReason = 'user' | 'code-mismatch' | 'commitment-mismatch' | 'expired' | 'cancelled';

export interface RejectionMessage {
  type: 'rejected';
  requestId: string;
  at: number;
  reason: RejectionReason;
}

export type ApprovalMessageAny =
  RequestMessage | AnswerMessage | RevealMessage | ApprovalMessage | RejectionMessage;

/** The secret sent to the new device, inside the AES-GCM ciphertext. */
export interface ApprovalSecret {
  /** The 12 recovery words. */
  words: string[];
  /** Nextcloud user id and server origin, so the new device can check it joined the right account. */
  userId: string;
  origin: string;
  /** The id under which the trusted device lists the new one. */
  deviceId: string;
}

// ---------------------------------------------------------------- file names

export const FILE_PREFIX = {
  request: 'req-',
  answer: 'ans-',
  reveal: 'rev-',
  approval: 'apv-',
  rejected: 'rej-',
} as const;
export type FileKind = keyof typeof FILE_PREFIX;

export function fileName(kind: FileKind, requestId: string): string {
  return `${FILE_PREFIX[kind]}${requestId}.json`;
}

/** Splits a file name into kind and request id; null for anything else. */
export function parseFileName(name: string): { kind: FileKind; requestId: string } | null {
  const m = /^(req|ans|rev|apv|rej)-([A-Za-z0-9_-]{22})\.json$/.exec(name);
  if (!m) return null;
  const kind = (Object.keys(FILE_PREFIX) as FileKind[]).find((k) => FILE_PREFIX[k] === `${m[1]}-`)!;
  return { kind, requestId: m[2]! };
}

// ---------------------------------------------------------------- encoding

function envelope(type: string, requestId: string, body: Record<string, unknown>): Bytes {
  return utf8(JSON.stringify({ cipherfold: PROTOCOL_ID, v: PROTOCOL_VERSION, type, requestId, ...body }));
}

export function encodeMessage(m: ApprovalMessageAny): Bytes {
  switch (m.type) {
    case 'request':
      return envelope('request', m.requestId, {
        createdAt: m.createdAt,
        expiresAt: m.expiresAt,
        device: { name: m.device.name, browser: m.device.browser },
        commitment: toBase64(m.commitment),
      });
    case 'answer':
      return envelope('answer', m.requestId, { publicKey: toBase64(m.publicKey) });
    case 'reveal':
      return envelope('reveal', m.requestId, {
        publicKey: toBase64(m.publicKey),
        nonce: toBase64(m.nonce),
        peerPublicKey: toBase64(m.peerPublicKey),
      });
    case 'approval':
      return envelope('approval', m.requestId, { iv: toBase64(m.iv), ciphertext: toBase64(m.ciphertext) });
    case 'rejected':
      return envelope('rejected', m.requestId, { at: m.at, reason: m.reason });
  }
}

export function encodeSecret(s: ApprovalSecret): Bytes {
  return utf8(
    JSON.stringify({ v: 1, words: s.words, userId: s.userId, origin: s.origin, deviceId: s.deviceId }),
  );
}

// ---------------------------------------------------------------- parsing

const bad = (what: string): never => {
  throw approvalFail(
    'malformed',
    'A device-approval file is malformed. The server may have altered it, or another program wrote it. Start the approval again on the new device.',
    { detail: what },
  );
};

function parseJsonObject(bytes: Uint8Array, maxBytes = MAX_FILE_BYTES): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) return bad('not bytes');
  if (bytes.length > maxBytes) return bad('too large');
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    return bad('not UTF-8');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('not an object');
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) bad(`unexpected member ${where}.${k.slice(0, 40)}`);
}

function str(o: Record<string, unknown>, k: string, max: number): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > max)
    return bad(`${k} is not a string of at most ${max} characters`);
  return v;
}

function time(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return bad(`${k} is not a timestamp`);
  return v;
}

function b64(o: Record<string, unknown>, k: string, len: number | { max: number }): Bytes {
  const v = o[k];
  const maxChars = typeof len === 'number' ? Math.ceil(len / 3) * 4 + 4 : Math.ceil(len.max / 3) * 4 + 4;
  if (typeof v !== 'string' || v.length > maxChars) return bad(`${k} is not a base64 string`);
  let b: Bytes;
  try {
    b = fromBase64(v);
  } catch {
    return bad(`${k} is not base64`);
  }
  if (typeof len === 'number' ? b.length !== len : b.length > len.max || b.length === 0)
    return bad(`${k} has the wrong length`);
  return b;
}

function publicKey(o: Record<string, unknown>, k: string): Bytes {
  const b = b64(o, k, PUBLIC_KEY_BYTES);
  if (b[0] !== 0x04) bad(`${k} is not an uncompressed P-256 point`);
  return b;
}

function header(bytes: Uint8Array, type: string, members: readonly string[]): Record<string, unknown> {
  const o = parseJsonObject(bytes);
  onlyKeys(o, ['cipherfold', 'v', 'type', 'requestId', ...members], 'file');
  if (o.cipherfold !== PROTOCOL_ID) bad('not a device-approval file');
  if (o.v !== PROTOCOL_VERSION) bad('unsupported version');
  if (o.type !== type) bad(`expected a ${type} file`);
  if (typeof o.requestId !== 'string' || !REQUEST_ID_RE.test(o.requestId)) bad('requestId is malformed');
  return o;
}

export function parseRequest(bytes: Uint8Array): RequestMessage {
  const o = header(bytes, 'request', ['createdAt', 'expiresAt', 'device', 'commitment']);
  const createdAt = time(o, 'createdAt');
  const expiresAt = time(o, 'expiresAt');
  if (expiresAt <= createdAt || expiresAt - createdAt > MAX_REQUEST_TTL_MS) bad('expiry window');
  const d = o.device;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return bad('device is not an object');
  const dev = d as Record<string, unknown>;
  onlyKeys(dev, ['name', 'browser'], 'device');
  return {
    type: 'request',
    requestId: o.requestId as string,
    createdAt,
    expiresAt,
    device: { name: str(dev, 'name', 100), browser: str(dev, 'browser', 100) },
    commitment: b64(o, 'commitment', COMMITMENT_BYTES),
  };
}

export function parseAnswer(bytes: Uint8Array): AnswerMessage {
  const o = header(bytes, 'answer', ['publicKey']);
  return { type: 'answer', requestId: o.requestId as string, publicKey: publicKey(o, 'publicKey') };
}

export function parseReveal(bytes: Uint8Array): RevealMessage {
  const o = header(bytes, 'reveal', ['publicKey', 'nonce', 'peerPublicKey']);
  return {
    type: 'reveal',
    requestId: o.requestId as string,
    publicKey: publicKey(o, 'publicKey'),
    nonce: b64(o, 'nonce', NONCE_BYTES),
    peerPublicKey: publicKey(o, 'peerPublicKey'),
  };
}

export function parseApproval(bytes: Uint8Array): ApprovalMessage {
  const o = header(bytes, 'approval', ['iv', 'ciphertext']);
  const ciphertext = b64(o, 'ciphertext', { max: MAX_SECRET_CIPHERTEXT_BYTES });
  if (ciphertext.length < 17) bad('ciphertext is shorter than a tag');
  return { type: 'approval', requestId: o.requestId as string, iv: b64(o, 'iv', 12), ciphertext };
}

const REJECTION_REASONS: readonly RejectionReason[] = [
  'user',
  'code-mismatch',
  'commitment-mismatch',
  'expired',
  'cancelled',
];

export function parseRejection(bytes: Uint8Array): RejectionMessage {
  const o = header(bytes, 'rejected', ['at', 'reason']);
  const reason = o.reason;
  if (typeof reason !== 'string' || !(REJECTION_REASONS as readonly string[]).includes(reason)) bad('reason');
  return {
    type: 'rejected',
    requestId: o.requestId as string,
    at: time(o, 'at'),
    reason: reason as RejectionReason,
  };
}

/** Parses the decrypted secret (only ever seen after a successful AES-GCM open). */
export function parseSecret(bytes: Uint8Array): ApprovalSecret {
  const o = parseJsonObject(bytes, MAX_SECRET_CIPHERTEXT_BYTES);
  onlyKeys(o, ['v', 'words', 'userId', 'origin', 'deviceId'], 'secret');
  if (o.v !== 1) bad('secret version');
  const words = o.words;
  if (
    !Array.isArray(words) ||
    words.length !== 12 ||
    !words.every((w) => typeof w === 'string' && /^[a-z]{2,12}$/.test(w))
  ) {
    return bad('secret words');
  }
  const origin = str(o, 'origin', 300);
  if (!/^https?:\/\/[^\s/@]+$/.test(origin)) bad('secret origin');
  const userId = str(o, 'userId', 256);
  const deviceId = str(o, 'deviceId', 64);
  if (userId.length === 0 || deviceId.length === 0) bad('secret ids');
  return { words: words as string[], userId, origin, deviceId };
}
