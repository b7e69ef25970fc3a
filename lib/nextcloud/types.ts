/**
 * Shared types of the Nextcloud HTTP client (`lib/nextcloud`). No crypto lives in this layer: metadata,
 * signatures, keys and certificates pass through as opaque strings.
 */

import type { FileId, UserId } from '../ids';

export type { FileId, UserId };
/** E2EE folder-lock token (`e2e-token`), 64 characters on current servers. */
export type LockToken = string & { readonly __brand: 'LockToken' };
/** OCS share id. */
export type ShareId = string & { readonly __brand: 'ShareId' };
/** Public-link share token (`T` in `s:T`, `/public.php/dav/files/T`). */
export type ShareToken = string & { readonly __brand: 'ShareToken' };

/** The `fetch` signature the client needs; inject a fake in tests. */
export type FetchLike = (input: string, init: FetchInit) => Promise<Response>;
/** `RequestInit` plus `duplex`, which streamed request bodies need (not yet in every DOM typing). */
export type FetchInit = RequestInit & { duplex?: 'half' };

export interface Credentials {
  /** The login name (what the user types; may differ from the user id). */
  loginName: string;
  /** An app password (from Login Flow v2); never the login password. */
  appPassword: string;
}

export interface NextcloudClientOptions {
  /** Server base URL, including a sub-path if Nextcloud is installed under one (`https://host/nextcloud`). */
  baseUrl: string;
  auth?: Credentials;
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Sent as `User-Agent` where the platform allows it. Never a mobile/desktop-client UA (see protocol §2.4). */
  userAgent?: string;
  /** The user id, if already known; otherwise resolved once via `GET /ocs/v2.php/cloud/user`. */
  userId?: string;
  /** E2EE key-endpoint family (`/api/v1` or `/api/v2`); default `v2`. Metadata/lock methods choose explicitly. */
  e2eeApi?: E2eeApiFamily;
  /** Time limit for receiving response headers of small requests (OCS, PROPFIND, MKCOL…), ms. Default 60 000. */
  timeoutMs?: number;
}

export type E2eeApiFamily = 'v1' | 'v2';

/** Progress of an upload or download: bytes moved so far and the total if known. */
export type ProgressCallback = (done: number, total: number | undefined) => void;

export interface ServerVersion {
  major: number;
  minor: number;
  micro: number;
  /** e.g. "31.0.6" */
  string: string;
}

export interface E2eeCapability {
  enabled: boolean;
  /** Kept as a string ("2.0", "2.1", "1.2"); see `e2eeApiFamilyFor`. */
  apiVersion: string;
  keysExist: boolean;
}

export interface Capabilities {
  version: ServerVersion | undefined;
  /** Absent when the user may not use E2EE (anonymous, or app restricted to other groups). */
  e2ee: E2eeCapability | undefined;
  /** Theming colour (e.g. "#0082c9"), if the theming app reports one. */
  themingColor: string | undefined;
}

export interface LoginFlowStart {
  pollToken: string;
  pollEndpoint: string;
  /** Open this URL in a browser tab for the user to grant access. */
  loginUrl: string;
}

export type LoginFlowResult =
  { status: 'pending' } | { status: 'granted'; server: string; loginName: string; appPassword: string };

/** An entry of a PROPFIND answer. */
export interface DavEntry {
  /** The raw (encoded) href as the server sent it. */
  href: string;
  /** Decoded path relative to the user's files root, starting with "/" ("/" for the root itself). */
  path: string;
  /** Last decoded path segment ("" for the root). */
  name: string;
  isFolder: boolean;
  fileId: FileId | undefined;
  /** `d:getcontentlength` (files only). */
  size: number | undefined;
  /** Without surrounding quotes. */
  etag: string | undefined;
  lastModified: Date | undefined;
  contentType: string | undefined;
  displayName: string | undefined;
  /** `oc:permissions`, e.g. "RGDNVCK" (may be "" for encrypted folders seen by non-E2EE clients). */
  permissions: string | undefined;
  /** `nc:is-encrypted` = 1: this folder's own E2EE flag. */
  isEncrypted: boolean;
  /** `nc:e2ee-is-encrypted` = 1: folder's own flag, or for a file its parent's flag. */
  e2eeIsEncrypted: boolean;
  /** `nc:e2ee-metadata` text, exactly as received (only when requested and present). */
  metadata?: string;
  /** `nc:e2ee-metadata-signature` (only when requested and present). */
  signature?: string;
}

export const SHARE_TYPE = { user: 0, group: 1, link: 3, email: 4, federated: 6 } as const;
export type ShareType = number;

export const PERMISSION = { read: 1, update: 2, create: 4, delete: 8, share: 16, all: 31 } as const;

export interface Share {
  id: ShareId;
  shareType: ShareType;
  /** The recipient (user id for user shares); undefined for link shares. */
  shareWith: string | undefined;
  permissions: number;
  /** Link-share token; undefined for user shares. */
  token: ShareToken | undefined;
  /** Path relative to the viewer's files root. */
  path: string | undefined;
  fileId: FileId | undefined;
  itemType: string | undefined;
  uidOwner: UserId | undefined;
  uidFileOwner: UserId | undefined;
  /** Public URL of a link share. */
  url: string | undefined;
}

export interface Sharee {
  shareWith: string;
  shareType: ShareType;
  label: string;
  exact: boolean;
}
