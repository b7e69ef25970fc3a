/**
 * The new device's side of device approval (docs/device-approval.md §3):
 *
 *   start()        → writes req-<id> {commitment = SHA-256(pubN ‖ nonceN), times, device}
 *   poll()         → on ans-<id> {pubT}: writes rev-<id> {pubN, nonceN, pubT}, derives the session
 *                    key, drops the private key, shows the code            → 'confirm-code'
 *   confirmCode()  → the user saw the same code on both devices          → 'waiting-for-approval'
 *   poll()         → on apv-<id>: decrypts the secret, deletes the files  → 'approved'
 *
 * The ephemeral private key is non-extractable, lives only in this object, and is dropped as soon as
 * the session key is derived (or on expiry, rejection, cancellation, failure).
 */
import { CipherfoldError, fail } from '../errors';
import type { Bytes } from '../crypto/bytes';
import {
  commitmentOf,
  deriveSessionKey,
  generateEphemeralKeyPair,
  newNonce,
  newRequestId,
  openSecret,
  secretAad,
  transcriptHash,
  verificationCode,
  type EphemeralKeyPair,
} from './crypto';
import { approvalFail, isApprovalError } from './errors';
import {
  MAX_REQUEST_TTL_MS,
  encodeMessage,
  fileName,
  parseAnswer,
  parseApproval,
  parseRejection,
  parseSecret,
  type ApprovalSecret,
  type DeviceInfo,
  type RejectionReason,
  type RequestMessage,
} from './messages';
import type { ApprovalTransport } from './transport';

export type NewDeviceState =
  | { step: 'waiting-for-answer' }
  | { step: 'confirm-code'; code: string }
  | { step: 'waiting-for-approval'; code: string }
  | { step: 'approved'; secret: ApprovalSecret }
  | { step: 'rejected'; reason: RejectionReason }
  | { step: 'expired' }
  | { step: 'cancelled' }
  | { step: 'failed'; error: CipherfoldError };

const TERMINAL = new Set(['approved', 'rejected', 'expired', 'cancelled', 'failed']);

export interface StartOptions {
  transport: ApprovalTransport;
  device: DeviceInfo;
  now?: () => number;
  /** At most 10 minutes (the default). */
  ttlMs?: number;
}

export class NewDeviceSession {
  private stateValue: NewDeviceState = { step: 'waiting-for-answer' };
  private keys: EphemeralKeyPair | null;
  private sessionKey: CryptoKey | null = null;
  private aad: Bytes | null = null;

  private constructor(
    private readonly transport: ApprovalTransport,
    private readonly now: () => number,
    readonly request: RequestMessage,
    keys: EphemeralKeyPair,
    private readonly nonce: Bytes,
  ) {
    this.keys = keys;
  }

  static async start(options: StartOptions): Promise<NewDeviceSession> {
    const now = options.now ?? (() => Date.now());
    const ttl = Math.min(options.ttlMs ?? MAX_REQUEST_TTL_MS, MAX_REQUEST_TTL_MS);
    if (!(ttl > 0))
      throw fail(
        'format',
        'The approval time limit must be positive. This is a bug in Cipherfold. Please report it.',
      );
    const keys = await generateEphemeralKeyPair();
    const nonce = newNonce();
    const createdAt = now();
    const request: RequestMessage = {
      type: 'request',
      requestId: newRequestId(),
      createdAt,
      expiresAt: createdAt + ttl,
      device: { name: options.device.name.slice(0, 100), browser: options.device.browser.slice(0, 100) },
      commitment: await commitmentOf(keys.publicKey, nonce),
    };
    await options.transport.put(fileName('request', request.requestId), encodeMessage(request), {
      create: true,
    });
    return new NewDeviceSession(options.transport, now, request, keys, nonce);
  }

  get requestId(): string {
    return this.request.requestId;
  }

  get state(): NewDeviceState {
    return this.stateValue;
  }

  /** True while the ephemeral private key is still held (for tests and diagnostics). */
  get holdsPrivateKey(): boolean {
    return this.keys !== null;
  }

  /** Advances as far as the files on the server allow. Throws (after entering 'failed') on tampering. */
  async poll(): Promise<NewDeviceState> {
    if (TERMINAL.has(this.stateValue.step)) return this.stateValue;
    try {
      if (this.now() > this.request.expiresAt) {
        await this.finish({ step: 'expired' });
        return this.stateValue;
      }
      const rej = await this.transport.get(fileName('rejected', this.requestId));
      if (rej) {
        const r = parseRejection(rej);
        if (r.requestId !== this.requestId) throw replayed();
        await this.finish({ step: 'rejected', reason: r.reason });
        return this.stateValue;
      }
      if (this.stateValue.step === 'waiting-for-answer') await this.onAnswer();
      else if (this.stateValue.step === 'waiting-for-approval') await this.onApproval();
      return this.stateValue;
    } catch (e) {
      if (isApprovalError(e)) {
        await this.finish({ step: 'failed', error: e });
      }
      throw e;
    }
  }

  /** The user confirmed that both devices show the same code. */
  confirmCode(): void {
    if (this.stateValue.step !== 'confirm-code') throw wrongState('confirm the code');
    this.stateValue = { step: 'waiting-for-approval', code: this.stateValue.code };
  }

  /** The codes differ (or the user declined): tells the trusted device, forgets everything. */
  async rejectCode(): Promise<void> {
    if (this.stateValue.step !== 'confirm-code' && this.stateValue.step !== 'waiting-for-approval') {
      throw wrongState('reject the code');
    }
    await this.writeRejection('code-mismatch');
    await this.finish({ step: 'rejected', reason: 'code-mismatch' });
  }

  async cancel(): Promise<void> {
    if (TERMINAL.has(this.stateValue.step)) return;
    await this.writeRejection('cancelled').catch(() => undefined);
    await this.finish({ step: 'cancelled' });
  }

  private async onAnswer(): Promise<void> {
    const bytes = await this.transport.get(fileName('answer', this.requestId));
    if (!bytes || !this.keys) return;
    const answer = parseAnswer(bytes);
    if (answer.requestId !== this.requestId) throw replayed();
    const transcript = await transcriptHash({
      requestId: this.requestId,
      createdAt: this.request.createdAt,
      expiresAt: this.request.expiresAt,
      device: this.request.device,
      commitment: this.request.commitment,
      newDeviceKey: this.keys.publicKey,
      trustedDeviceKey: answer.publicKey,
      nonce: this.nonce,
    });
    this.sessionKey = await deriveSessionKey(
      this.keys.privateKey,
      answer.publicKey,
      this.requestId,
      transcript,
    );
    this.aad = secretAad(this.requestId, this.keys.publicKey, answer.publicKey);
    await this.transport.put(
      fileName('reveal', this.requestId),
      encodeMessage({
        type: 'reveal',
        requestId: this.requestId,
        publicKey: this.keys.publicKey,
        nonce: this.nonce,
        peerPublicKey: answer.publicKey,
      }),
      { create: true },
    );
    this.keys = null; // the private key is no longer needed
    this.stateValue = { step: 'confirm-code', code: await verificationCode(transcript) };
  }

  private async onApproval(): Promise<void> {
    const bytes = await this.transport.get(fileName('approval', this.requestId));
    if (!bytes || !this.sessionKey || !this.aad) return;
    const approval = parseApproval(bytes);
    if (approval.requestId !== this.requestId) throw replayed();
    const plaintext = await openSecret(this.sessionKey, this.aad, approval.iv, approval.ciphertext);
    let secret: ApprovalSecret;
    try {
      secret = parseSecret(plaintext);
    } finally {
      plaintext.fill(0);
    }
    await this.finish({ step: 'approved', secret });
  }

  private async writeRejection(reason: RejectionReason): Promise<void> {
    await this.transport.put(
      fileName('rejected', this.requestId),
      encodeMessage({ type: 'rejected', requestId: this.requestId, at: this.now(), reason }),
    );
  }

  /** Enters a terminal state: drops every key and deletes this request's files except a rejection marker. */
  private async finish(state: NewDeviceState): Promise<void> {
    this.keys = null;
    this.sessionKey = null;
    this.aad = null;
    this.stateValue = state;
    for (const kind of ['request', 'answer', 'reveal', 'approval'] as const) {
      await this.transport.delete(fileName(kind, this.requestId)).catch(() => undefined);
    }
  }
}

function replayed(): CipherfoldError {
  return approvalFail(
    'replayed',
    'A device-approval answer belongs to another request. The server may be replaying old data. Start the approval again.',
  );
}

function wrongState(what: string): CipherfoldError {
  return approvalFail(
    'wrong-state',
    `Cannot ${what} at this point of the approval. This is a bug in Cipherfold. Please report it.`,
  );
}
