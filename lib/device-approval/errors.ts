/** Typed errors of device approval: a `CipherfoldError` with a machine-readable `reason`. */
import { CipherfoldError, type ErrorKind } from '../errors';

export type ApprovalFailure =
  | 'malformed' // a file is not a valid message (format)
  | 'expired' // the request is past its expiry (cancelled)
  | 'rejected' // the other device (or the user) rejected it (cancelled)
  | 'already-handled' // this request was already answered from this device (conflict)
  | 'replayed' // a message belongs to another request or session (conflict)
  | 'commitment-mismatch' // the revealed key does not match the commitment: tampering (conflict)
  | 'decrypt-failed' // the approval does not decrypt: tampering or replay (tag)
  | 'taken' // another trusted device answered first (conflict)
  | 'wrong-state'; // the call is not valid in the session's current state (internal)

const KIND: Record<ApprovalFailure, ErrorKind> = {
  malformed: 'format',
  expired: 'cancelled',
  rejected: 'cancelled',
  'already-handled': 'conflict',
  replayed: 'conflict',
  'commitment-mismatch': 'conflict',
  'decrypt-failed': 'tag',
  taken: 'conflict',
  'wrong-state': 'internal',
};

export class DeviceApprovalError extends CipherfoldError {
  readonly reason: ApprovalFailure;

  constructor(reason: ApprovalFailure, message: string, options?: { detail?: string; cause?: unknown }) {
    super(KIND[reason], message, options);
    this.name = 'DeviceApprovalError';
    this.reason = reason;
  }
}

export function approvalFail(
  reason: ApprovalFailure,
  message: string,
  options?: { detail?: string; cause?: unknown },
): DeviceApprovalError {
  return new DeviceApprovalError(reason, message, options);
}

export function isApprovalError(e: unknown, reason?: ApprovalFailure): e is DeviceApprovalError {
  return e instanceof DeviceApprovalError && (reason === undefined || e.reason === reason);
}
