/**
 * The trusted device's side of device approval (docs/device-approval.md §3):
 *
 *   listRequests()  → pending, unexpired, unhandled requests (for the popup badge)
 *   answer()        → records the request as handled (single use), writes ans-<id> {pubT}
 *   poll()          → on rev-<id>: checks SHA-256(pubN ‖ nonceN) = commitment, derives the session key,
 *                     drops the private key, shows the code                     → 'confirm-code'
 *   approve(secret) → the user saw the same code on both devices: writes apv-<id> → 'approved'
 *   reject()        → writes rej-<id>                                            → 'rejected'
 *
 * Nothing but the ephemeral public key leaves this device before the user approves.
 */
import { CipherfoldError, fail, isCipherfoldError } from '../errors';
import type { Bytes } from '../crypto/bytes';
import { equalBytes } from '../crypto/bytes';
import {
  checkCommitment,
  deriveSessionKey,
  generateEphemeralKeyPair,
  newRequestId,
  sealSecret,
  secretAad,
  transcriptHash,
  verificationCode,
  type EphemeralKeyPair,
} from './crypto';
import { approvalFail, isApprovalError } from './errors';
import {
  MAX_CLOCK_SKEW_MS,
  encodeMessage,
  encodeSecret,
  fileName,
  parseFileName,
  parseRejection,
  parseRequest,
  parseReveal,
  parseSecret,
  type ApprovalSecret,
  type DeviceInfo,
  type RejectionReason,
  type RequestMessage,
} from './messages';
import type { ApprovalTransport } from './transport';

/** Request ids this device has answered (the vault's `markRequestHandled` / `isRequestHandled`). */
export interface HandledRequests {
  /** Records the id; false if it was recorded before. Must be atomic. */
  markHandled(requestId: string): Promise<boolean>;
  isHandled(requestId: string): Promise<boolean>;
}

export interface PendingRequest {
  requestId: string;
  createdAt: number;
  expiresAt: number;
  /** As the new device described itself (not authenticated until the codes match). */
  device: DeviceInfo;
}

export type TrustedDeviceState =
  | { step: 'waiting-for-reveal' }
  | { step: 'confirm-code'; code: string }
  | { step: 'approved'; deviceId: string }
  | { step: 'rejected'; reason: RejectionReason }
  | { step: 'expired' }
  | { step: 'taken' }
  | { step: 'failed'; error: CipherfoldError };

const TERMINAL = new Set(['approved', 'rejected', 'expired', 'taken', 'failed']);

/** Lists requests waiting for an answer. Malformed files are skipped and reported by name. */
export async function listRequests(
  transport: ApprovalTransport,
  options: { handled: HandledRequests; now?: () => number },
): Promise<{ pending: PendingRequest[]; malformed: string[] }> {
  const now = (options.now ?? Date.now)();
  const names = await transport.list('');
  const byId = new Map<string, Set<string>>();
  for (const n of names) {
    const p = parseFileName(n);
    if (!p) continue;
    if (!byId.has(p.requestId)) byId.set(p.requestId, new Set());
    byId.get(p.requestId)!.add(p.kind);
  }
  const pending: PendingRequest[] = [];
  const malformed: string[] = [];
  for (const [id, kinds] of byId) {
    if (!kinds.has('request') || kinds.has('answer') || kinds.has('rejected')) continue;
    if (await options.handled.isHandled(id)) continue;
    const bytes = await transport.get(fileName('request', id));
    if (!bytes) continue;
    let r: RequestMessage;
    try {
      r = parseRequest(bytes);
    } catch (e) {
      if (!isCipherfoldError(e)) throw e;
      malformed.push(fileName('request', id));
      continue;
    }
    if (r.requestId !== id || now > r.expiresAt || r.createdAt > now + MAX_CLOCK_SKEW_MS) continue;
    pending.push({ requestId: id, createdAt: r.createdAt, expiresAt: r.expiresAt, device: r.device });
  }
  pending.sort((a, b) => b.createdAt - a.createdAt);
  return { pending, malformed };
}

/**
 * Deletes the files of requests that expired more than `graceMs` ago (default 1 hour), and files that
 * are not part of the protocol's naming scheme are left alone. Returns the deleted names.
 */
export async function cleanupStale(
  transport: ApprovalTransport,
  options: { now?: () => number; graceMs?: number } = {},
): Promise<string[]> {
  const now = (options.now ?? Date.now)();
  const grace = options.graceMs ?? 60 * 60_000;
  const names = await transport.list('');
  const ids = new Set(names.map(parseFileName).flatMap((p) => (p ? [p.requestId] : [])));
  const deleted: string[] = [];
  for (const id of ids) {
    const bytes = await transport.get(fileName('request', id));
    let stale = !bytes;
    if (bytes) {
      try {
        stale = parseRequest(bytes).expiresAt + grace < now;
      } catch {
        stale = true;
      }
    }
    if (!stale) continue;
    for (const n of names) {
      if (parseFileName(n)?.requestId === id) {
        await transport.delete(n);
        deleted.push(n);
      }
    }
  }
  return deleted;
}

export class TrustedDeviceSession {
  private stateValue: TrustedDeviceState = { step: 'waiting-for-reveal' };
  private keys: EphemeralKeyPair | null;
  private sessionKey: CryptoKey | null = null;
  private aad: Bytes | null = null;

  private constructor(
    private readonly transport: ApprovalTransport,
    private readonly now: () => number,
    readonly request: RequestMessage,
    keys: EphemeralKeyPair,
  ) {
    this.keys = keys;
  }

  /** Answers a request (once per request id, ever, from this device). */
  static async answer(options: {
    transport: ApprovalTransport;
    requestId: string;
    handled: HandledRequests;
    now?: () => number;
  }): Promise<TrustedDeviceSession> {
    const { transport, requestId, handled } = options;
    const now = options.now ?? (() => Date.now());
    const bytes = await transport.get(fileName('request', requestId));
    if (!bytes) {
      throw fail(
        'not-found',
        'This device-approval request is gone. The new device may have cancelled it. Start again on the new device.',
      );
    }
    const request = parseRequest(bytes);
    if (request.requestId !== requestId) {
      throw approvalFail(
        'replayed',
        'A device-approval request was stored under another request’s name. The server may be replaying old data. Start again on the new device.',
      );
    }
    if (now() > request.expiresAt) throw expired();
    if (request.createdAt > now() + MAX_CLOCK_SKEW_MS) {
      throw approvalFail(
        'malformed',
        "A device-approval request is dated in the future. The other device's clock may be wrong, or the file was altered. Check both clocks and start again.",
      );
    }
    if (await transport.get(fileName('rejected', requestId))) {
      throw approvalFail(
        'rejected',
        'This device-approval request was cancelled or rejected. Nothing was sent. Start again on the new device.',
      );
    }
    if (!(await handled.markHandled(requestId))) {
      throw approvalFail(
        'already-handled',
        'This device-approval request was already answered from this device. A request can be used only once. Start again on the new device.',
      );
    }
    const keys = await generateEphemeralKeyPair();
    try {
      await transport.put(
        fileName('answer', requestId),
        encodeMessage({ type: 'answer', requestId, publicKey: keys.publicKey }),
        {
          create: true,
        },
      );
    } catch (e) {
      if (isCipherfoldError(e, 'conflict')) {
        throw approvalFail(
          'taken',
          'Another of your devices is already answering this request. Nothing was sent. Finish the approval there.',
          { cause: e },
        );
      }
      throw e;
    }
    return new TrustedDeviceSession(transport, now, request, keys);
  }

  get requestId(): string {
    return this.request.requestId;
  }

  get state(): TrustedDeviceState {
    return this.stateValue;
  }

  get holdsPrivateKey(): boolean {
    return this.keys !== null;
  }

  async poll(): Promise<TrustedDeviceState> {
    if (TERMINAL.has(this.stateValue.step)) return this.stateValue;
    try {
      if (this.now() > this.request.expiresAt) {
        await this.writeRejection('expired').catch(() => undefined);
        this.finish({ step: 'expired' });
        return this.stateValue;
      }
      const rej = await this.transport.get(fileName('rejected', this.requestId));
      if (rej) {
        const r = parseRejection(rej);
        if (r.requestId === this.requestId) {
          this.finish({ step: 'rejected', reason: r.reason });
          return this.stateValue;
        }
      }
      if (this.stateValue.step === 'waiting-for-reveal') await this.onReveal();
      return this.stateValue;
    } catch (e) {
      if (isApprovalError(e)) this.finish({ step: 'failed', error: e });
      throw e;
    }
  }

  /**
   * The user confirmed the codes match: sends the secret encrypted to the new device. Returns the device
   * id under which to record it (vault.recordDeviceApproved).
   */
  async approve(secret: Omit<ApprovalSecret, 'deviceId'>): Promise<{ deviceId: string; device: DeviceInfo }> {
    if (this.stateValue.step !== 'confirm-code' || !this.sessionKey || !this.aad) {
      throw approvalFail(
        'wrong-state',
        'This device cannot be approved at this point. The codes must be shown and compared first. Wait for the code.',
      );
    }
    if (this.now() > this.request.expiresAt) {
      this.finish({ step: 'expired' });
      throw expired();
    }
    if (await this.transport.get(fileName('rejected', this.requestId))) {
      this.finish({ step: 'rejected', reason: 'cancelled' });
      throw approvalFail(
        'rejected',
        'The new device cancelled the approval. Nothing was sent. Start again on the new device.',
      );
    }
    const deviceId = newRequestId();
    const plaintext = encodeSecret({ ...secret, words: [...secret.words], deviceId });
    try {
      parseSecret(plaintext); // what the new device will accept
      const { iv, ciphertext } = await sealSecret(this.sessionKey, this.aad, plaintext);
      await this.transport.put(
        fileName('approval', this.requestId),
        encodeMessage({ type: 'approval', requestId: this.requestId, iv, ciphertext }),
        { create: true },
      );
    } finally {
      plaintext.fill(0);
    }
    this.finish({ step: 'approved', deviceId });
    return { deviceId, device: this.request.device };
  }

  /** Rejects (the user declined, or the codes differ). Nothing usable is left behind. */
  async reject(reason: 'user' | 'code-mismatch' = 'user'): Promise<void> {
    if (TERMINAL.has(this.stateValue.step)) return;
    await this.writeRejection(reason);
    this.finish({ step: 'rejected', reason });
  }

  private async onReveal(): Promise<void> {
    const bytes = await this.transport.get(fileName('reveal', this.requestId));
    if (!bytes || !this.keys) return;
    const reveal = parseReveal(bytes);
    if (reveal.requestId !== this.requestId) {
      throw approvalFail(
        'replayed',
        'A device-approval reply belongs to another request. The server may be replaying old data. Start again on the new device.',
      );
    }
    if (!equalBytes(reveal.peerPublicKey, this.keys.publicKey)) {
      this.finish({ step: 'taken' });
      return;
    }
    if (!(await checkCommitment(this.request.commitment, reveal.publicKey, reveal.nonce))) {
      await this.writeRejection('commitment-mismatch').catch(() => undefined);
      throw approvalFail(
        'commitment-mismatch',
        "The new device's key does not match the one it announced. Someone may be intercepting the approval. Nothing was sent; do not approve, and tell your administrator.",
      );
    }
    const transcript = await transcriptHash({
      requestId: this.requestId,
      createdAt: this.request.createdAt,
      expiresAt: this.request.expiresAt,
      device: this.request.device,
      commitment: this.request.commitment,
      newDeviceKey: reveal.publicKey,
      trustedDeviceKey: this.keys.publicKey,
      nonce: reveal.nonce,
    });
    this.sessionKey = await deriveSessionKey(
      this.keys.privateKey,
      reveal.publicKey,
      this.requestId,
      transcript,
    );
    this.aad = secretAad(this.requestId, reveal.publicKey, this.keys.publicKey);
    this.keys = null;
    this.stateValue = { step: 'confirm-code', code: await verificationCode(transcript) };
  }

  private async writeRejection(reason: RejectionReason): Promise<void> {
    await this.transport.put(
      fileName('rejected', this.requestId),
      encodeMessage({ type: 'rejected', requestId: this.requestId, at: this.now(), reason }),
    );
  }

  private finish(state: TrustedDeviceState): void {
    this.keys = null;
    this.sessionKey = null;
    this.aad = null;
    this.stateValue = state;
  }
}

function expired(): CipherfoldError {
  return approvalFail(
    'expired',
    'This device-approval request has expired (requests last 10 minutes). Nothing was sent. Start again on the new device.',
  );
}
