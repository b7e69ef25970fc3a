/** Approving a new device from a trusted one (docs/device-approval.md). */
export * from './errors';
export * from './messages';
export * from './transport';
export {
  CODE_DIGITS,
  checkCommitment,
  commitmentOf,
  deriveSessionKey,
  generateEphemeralKeyPair,
  newRequestId,
  openSecret,
  sealSecret,
  secretAad,
  transcriptHash,
  verificationCode,
  type EphemeralKeyPair,
  type Transcript,
} from './crypto';
export { NewDeviceSession, type NewDeviceState, type StartOptions } from './new-device';
export {
  TrustedDeviceSession,
  cleanupStale,
  listRequests,
  type HandledRequests,
  type PendingRequest,
  type TrustedDeviceState,
} from './trusted-device';
