/** Public surface of the Nextcloud HTTP client. */
export { NextcloudClient, normalizeBaseUrl, e2eeApiFamilyFor } from './client';
export { E2eeApi } from './e2ee';
export type { E2eeCallOptions, KeyCallOptions, FolderMetadata, LockOptions, UnlockOptions } from './e2ee';
export { DavApi, encodeDavPath } from './dav';
export type {
  PropfindOptions,
  DownloadOptions,
  Download,
  WriteOptions,
  UploadOptions,
  ChunkedUploadOptions,
  UploadResult,
  DeleteOptions,
  MoveOptions,
} from './dav';
export { SharingApi, ProvisioningApi } from './sharing';
export type { CreateShareOptions, ListSharesOptions, ShareeSearchOptions } from './sharing';
export { asFileId, asUserId, asLockToken, asShareId, asShareToken, fileIdFromHeader } from './ids';
export { parseMultistatus } from './multistatus';
export { parseXml } from './xml';
export type { XmlElement, XmlNode, XmlAttribute } from './xml';
export * from './types';
export { withBlobBodies } from './blob-bodies';
