/** Public API of Nextcloud E2EE folder metadata (protocol.md §6, §7, §9, §10). */
export * from './types';
export { parseMetadata, parseMetadataValue, normaliseV1Version, normaliseV2Version } from './parse';
export { parseInnerDocument, parseFileInfo, innerToJson, type InnerJson, type FileInfoResult } from './inner';
export {
  encryptInnerDocument,
  decryptInnerDocument,
  encryptGzipGcm,
  decryptGzipGcm,
  splitCiphertext,
  METADATA_NONCE_LENGTH,
  type EncryptOptions,
} from './v2-crypto';
export {
  keyChecksum,
  normaliseChecksum,
  checksumsEqual,
  checksumListContains,
  hasDuplicateChecksums,
  hasShortChecksums,
  missingFromHistory,
  mergeChecksumHistory,
} from './key-checksum';
export { checkCounter, contentFingerprint, nextCounter, type CounterRecord } from './counter';
export { decryptMetadataKey, encryptMetadataKeyFor, rsaPkcs1v15Decrypt } from './metadata-key';
export {
  newUuid32,
  newMetadataKey,
  createRootDraft,
  createSubDraft,
  withCounter,
  putFile,
  removeFile,
  putFolder,
  removeFolder,
  markRootDeleted,
  rotateMetadataKey,
  addUser,
  removeUser,
  serialiseRoot,
  serialiseSub,
  type RootDraft,
  type SubDraft,
  type UserCertificate,
  type Signer,
  type SerialisedMetadata,
  type SerialiseOptions,
} from './build';
export { decryptFiledrop, applyFiledropMigration, type FiledropDecryption } from './filedrop';
export { decryptV1, v1Checksum, splitV1Encrypted, decodeV1KeyPlaintext, type DecryptedV1 } from './v1';
export {
  verifyRootMetadata,
  verifySubMetadata,
  verifyV1Metadata,
  verifyMetadata,
  checkMetadata,
  type FolderState,
  type TrustContext,
  type Self,
  type VerifiedRoot,
  type VerifiedSub,
  type VerifiedV1,
  type VerifiedMetadata,
  type VerifyInput,
  type VerifyRootInput,
  type VerifySubInput,
  type VerifyV1Input,
  type VerifyOutcome,
} from './verify';
