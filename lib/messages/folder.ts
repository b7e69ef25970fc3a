/**
 * Folder-view commands: extension pages (folder-view iframe or tab, confirm window, viewer tab) → background
 * → engine. The same names and payloads are used on the `ui` and the `engine` channel; the background
 * forwards them verbatim (and opens the confirmation window for `folder/confirm-request`).
 *
 * Everything is keyed by an opaque view id that the engine created for a content script's verified
 * request (origin from the sender, folder checked with the server). Paths are server paths (the 32-hex
 * names of encrypted items), which the engine re-checks against the view's encrypted root on every call.
 * Decrypted names travel only to extension pages.
 *
 * Bytes never travel in these messages (extension messaging is JSON-only in Chrome). The engine owns
 * every transfer: an upload's File is handed to the engine document over the extension-origin
 * BroadcastChannel `TRANSFER_CHANNEL` (a Blob reference, no copy, read by the engine as a stream); a
 * download is decrypted by the engine and either saved through the downloads API or, for previews, handed
 * back over the same channel as a Blob, in both cases only after its tag verified. See
 * entrypoints/README.md, "Transfers".
 */
import { ERROR_KINDS, type ErrorKind } from '../errors';
import { defineChannel } from './envelope';
import {
  arrayOf,
  isBoolean,
  isEmpty,
  isInteger,
  literal,
  objectOf,
  oneOf,
  stringOf,
  union,
  type Empty,
  type Guard,
} from './guards';
import { isFolderPath, isViewId } from './content';

/** The BroadcastChannel (extension origin only) that carries upload Files in and preview Blobs out. */
export const TRANSFER_CHANNEL = 'cipherfold-transfers';

/** Messages on `TRANSFER_CHANNEL` (structured clone, so Blobs pass by reference). */
export type TransferChannelMessage =
  /** page → engine: the file for an upload announced with `folder/upload-begin`. */
  | { type: 'upload-source'; transferId: string; file: Blob }
  /** page → engine: the files of a tree announced with `folder/upload-tree-begin`, in its order. */
  | { type: 'upload-tree-source'; transferId: string; files: Blob[] }
  /** engine → page: a verified download delivered for a preview (`deliver: 'page'`). */
  | { type: 'download-ready'; transferId: string; blob: Blob }
  /** page → engine: deliver again (the page was not listening yet); the engine keeps it a few minutes. */
  | { type: 'download-want'; transferId: string };

/** One file of a tree upload. */
export interface TreeUploadItem {
  /** Path below the target folder, `/`-separated, no empty, `.` or `..` segments. */
  relPath: string;
  size: number;
  mimetype: string;
}
/** Most files one tree upload may hold. */
export const MAX_TREE_FILES = 10_000;

export const TRANSFER_KINDS = ['upload', 'download', 'zip'] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];
/** `waiting`: queued behind other uploads (or for its file); `saving`: verified, being handed over. */
export const TRANSFER_STATES = ['waiting', 'running', 'saving', 'done', 'failed', 'cancelled'] as const;
export type TransferState = (typeof TRANSFER_STATES)[number];

/** Done, failed or cancelled: nothing more happens to the transfer. */
export function isTransferFinished(state: TransferState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

export interface TransferView {
  transferId: string;
  kind: TransferKind;
  /** Decrypted name (extension pages only). */
  name: string;
  viewId: string | null;
  state: TransferState;
  /** Plaintext bytes moved so far. */
  bytes: number;
  total: number | null;
  bytesPerSecond: number;
  startedAt: number;
  endedAt: number | null;
  /** How it failed or was cancelled, for the user. */
  message: string | null;
  /** The error kind of a failure (`tag`, `network`, …), so the page can name the check. */
  errorKind: ErrorKind | null;
  /** The uploaded entry's server name (32 hex), once done. */
  resultId: string | null;
}

/**
 * Message of the typed `locked` error the engine answers when no unlocked account exists for the origin.
 * (The same kind is used when another client holds a folder lock; the UI tells them apart by this text.)
 */
export const VAULT_LOCKED_MESSAGE =
  'Unlock Cipherfold first. Your encrypted folders stay closed while Cipherfold is locked. Open the Cipherfold menu in the toolbar and unlock with your recovery words.';

export const isUuidName: Guard<string> = stringOf(32, /^[0-9a-fA-F]{32}$/);
export const isTransferId: Guard<string> = stringOf(64, /^[A-Za-z0-9_-]{16,64}$/);
export const isServerFileId: Guard<string> = stringOf(32, /^[0-9]{1,20}$/);
/** A clear name as a user types it (validated again by the engine). */
export const isClearName: Guard<string> = stringOf(255, /^[^/\0]+$/);
const isNullableInt: Guard<number | null> = union(isInteger, literal(null));
const isNullableFileId: Guard<string | null> = union(isServerFileId, literal(null));

export interface FolderEntryInfo {
  kind: 'file' | 'folder';
  /** The server name (32 hex). */
  id: string;
  /** Decrypted name. */
  name: string;
  /** Plaintext size in bytes (files), `null` when unknown. */
  size: number | null;
  mimetype: string;
  /** Milliseconds since the epoch, `null` when unknown. */
  mtime: number | null;
  /** Listed in the metadata but absent on the server. */
  missing: boolean;
  /** Server file id of a sub-folder (for the page URL hint), `null` for files or when unknown. */
  fileId: string | null;
}

export interface Crumb {
  name: string;
  path: string;
}

export interface FolderListing {
  /** Server path of the folder shown. */
  path: string;
  /** Server path of its topmost encrypted folder (the view cannot leave it). */
  rootPath: string;
  /** Decrypted breadcrumbs from the root down to this folder. */
  crumbs: Crumb[];
  entries: FolderEntryInfo[];
  /** Server items that are not in the metadata (not shown). */
  unknownEntries: number;
  /** The Nextcloud page of this view runs the server's own in-browser E2EE code. */
  pageRunsServerE2ee: boolean;
}

export const DOWNLOAD_DELIVERIES = ['save', 'page'] as const;
export type DownloadDelivery = (typeof DOWNLOAD_DELIVERIES)[number];

const isTime = (x: unknown): x is number => isInteger(x) && x >= 0;
export const isTransferView: Guard<TransferView> = objectOf({
  transferId: isTransferId,
  kind: oneOf(TRANSFER_KINDS),
  name: stringOf(1024),
  viewId: union(isViewId, literal(null)),
  state: oneOf(TRANSFER_STATES),
  bytes: isTime,
  total: union(isTime, literal(null)),
  bytesPerSecond: isTime,
  startedAt: isTime,
  endedAt: union(isTime, literal(null)),
  message: union(stringOf(2000), literal(null)),
  errorKind: union(oneOf(ERROR_KINDS), literal(null)),
  resultId: union(isUuidName, literal(null)),
});

export const CONFIRM_ACTIONS = ['delete'] as const;
export type ConfirmAction = (typeof CONFIRM_ACTIONS)[number];
export const CONFIRM_STATES = ['pending', 'running', 'done', 'rejected', 'failed', 'expired'] as const;
export type ConfirmState = (typeof CONFIRM_STATES)[number];

export interface ConfirmDetails {
  action: ConfirmAction;
  /** Server origin of the folder (shown so the user knows which server). */
  origin: string;
  /** Decrypted name of the folder the items are in. */
  folderName: string;
  /** Decrypted names of the items (at most 50; `count` has the total). */
  names: string[];
  count: number;
  /** True when an item is a folder (its whole content goes with it). */
  includesFolders: boolean;
}

const isEntryInfo: Guard<FolderEntryInfo> = objectOf({
  kind: oneOf(['file', 'folder'] as const),
  id: isUuidName,
  name: stringOf(1024),
  size: isNullableInt,
  mimetype: stringOf(255),
  mtime: isNullableInt,
  missing: isBoolean,
  fileId: isNullableFileId,
});
const isCrumb: Guard<Crumb> = objectOf({ name: stringOf(1024), path: isFolderPath });
export const isFolderListing: Guard<FolderListing> = objectOf({
  path: isFolderPath,
  rootPath: isFolderPath,
  crumbs: arrayOf(isCrumb, 256),
  entries: arrayOf(isEntryInfo, 100_000),
  unknownEntries: isInteger,
  pageRunsServerE2ee: isBoolean,
});
const isConfirmDetails: Guard<ConfirmDetails> = objectOf({
  action: oneOf(CONFIRM_ACTIONS),
  origin: stringOf(2048),
  folderName: stringOf(1024),
  names: arrayOf(stringOf(1024), 50),
  count: isInteger,
  includesFolders: isBoolean,
});

export type FolderCommands = {
  'folder/open': { payload: { viewId: string; path: string | null }; result: FolderListing };
  /** A page hint ("the user navigated to folder id X"): answers the verified path, or null to ignore it. */
  'folder/navigate-hint': { payload: { viewId: string; fileId: string }; result: { path: string | null } };
  'folder/create-folder': { payload: { viewId: string; path: string; name: string }; result: Empty };
  'folder/rename': { payload: { viewId: string; path: string; id: string; name: string }; result: Empty };
  'folder/move': {
    payload: { viewId: string; path: string; ids: string[]; targetPath: string };
    result: Empty;
  };
  /** Copies with fresh keys (re-encrypted) into `targetPath`, which may be the same folder ("x (copy)"). */
  'folder/copy': {
    payload: { viewId: string; path: string; ids: string[]; targetPath: string };
    result: Empty;
  };
  'folder/upload-begin': {
    payload: { viewId: string; path: string; name: string; size: number; mimetype: string };
    result: { transferId: string };
  };
  /**
   * A folder tree (drag and drop of folders, or the folder picker): every file with its path relative to
   * `path` (`Photos/2024/a.jpg`), in the order the page will post the Files (`upload-tree-source`).
   */
  'folder/upload-tree-begin': {
    payload: { viewId: string; path: string; items: TreeUploadItem[] };
    result: { transferId: string };
  };
  /** Transfers of one view (`viewId`) or all of them (`null`, the popup), newest first. */
  'folder/transfers': { payload: { viewId: string | null }; result: { transfers: TransferView[] } };
  'folder/transfer-cancel': { payload: { transferId: string }; result: Empty };
  'folder/transfers-clear': { payload: { viewId: string | null }; result: Empty };
  /** `save`: to the user's downloads folder; `page`: a Blob on `TRANSFER_CHANNEL` (viewer). */
  'folder/download-begin': {
    payload: { viewId: string; path: string; id: string; deliver: DownloadDelivery };
    result: { transferId: string; name: string; mimetype: string; size: number };
  };
  /** A zip of the selected items (all when `ids` is empty), folders included, each member verified. */
  'folder/download-zip-begin': {
    payload: { viewId: string; path: string; ids: string[] };
    result: { transferId: string; name: string; mimetype: string; size: number };
  };
  /** Records a destructive action; the background then opens confirm.html for it. */
  'folder/confirm-request': {
    payload: { viewId: string; path: string; action: ConfirmAction; ids: string[] };
    result: { confirmId: string };
  };
  /** Only confirm.html (top-level extension page) may use get/answer: the background checks the sender. */
  'folder/confirm-get': { payload: { confirmId: string }; result: ConfirmDetails };
  'folder/confirm-answer': {
    payload: { confirmId: string; approve: boolean };
    result: { state: ConfirmState; message: string };
  };
  'folder/confirm-status': {
    payload: { confirmId: string };
    result: { state: ConfirmState; message: string };
  };
};

const viewPath = { viewId: isViewId, path: isFolderPath };
const isConfirmState = objectOf({ state: oneOf(CONFIRM_STATES), message: stringOf(2000) });
const isConfirmId = isTransferId;

export const folderSpec = {
  'folder/open': {
    payload: objectOf({ viewId: isViewId, path: union(isFolderPath, literal(null)) }),
    result: isFolderListing,
  },
  'folder/navigate-hint': {
    payload: objectOf({ viewId: isViewId, fileId: isServerFileId }),
    result: objectOf({ path: union(isFolderPath, literal(null)) }),
  },
  'folder/create-folder': { payload: objectOf({ ...viewPath, name: isClearName }), result: isEmpty },
  'folder/rename': {
    payload: objectOf({ ...viewPath, id: isUuidName, name: isClearName }),
    result: isEmpty,
  },
  'folder/move': {
    payload: objectOf({ ...viewPath, ids: arrayOf(isUuidName, 10_000), targetPath: isFolderPath }),
    result: isEmpty,
  },
  'folder/copy': {
    payload: objectOf({ ...viewPath, ids: arrayOf(isUuidName, 10_000), targetPath: isFolderPath }),
    result: isEmpty,
  },
  'folder/upload-begin': {
    payload: objectOf({ ...viewPath, name: isClearName, size: isInteger, mimetype: stringOf(255) }),
    result: objectOf({ transferId: isTransferId }),
  },
  'folder/upload-tree-begin': {
    payload: objectOf({
      ...viewPath,
      items: arrayOf(
        objectOf({ relPath: stringOf(4096), size: isInteger, mimetype: stringOf(255) }),
        MAX_TREE_FILES,
      ),
    }),
    result: objectOf({ transferId: isTransferId }),
  },
  'folder/transfers': {
    payload: objectOf({ viewId: union(isViewId, literal(null)) }),
    result: objectOf({ transfers: arrayOf(isTransferView, 1000) }),
  },
  'folder/transfer-cancel': { payload: objectOf({ transferId: isTransferId }), result: isEmpty },
  'folder/transfers-clear': {
    payload: objectOf({ viewId: union(isViewId, literal(null)) }),
    result: isEmpty,
  },
  'folder/download-begin': {
    payload: objectOf({ ...viewPath, id: isUuidName, deliver: oneOf(DOWNLOAD_DELIVERIES) }),
    result: objectOf({
      transferId: isTransferId,
      name: stringOf(1024),
      mimetype: stringOf(255),
      size: isInteger,
    }),
  },
  'folder/download-zip-begin': {
    payload: objectOf({ ...viewPath, ids: arrayOf(isUuidName, 10_000) }),
    result: objectOf({
      transferId: isTransferId,
      name: stringOf(1024),
      mimetype: stringOf(255),
      size: isInteger,
    }),
  },
  'folder/confirm-request': {
    payload: objectOf({ ...viewPath, action: oneOf(CONFIRM_ACTIONS), ids: arrayOf(isUuidName, 10_000) }),
    result: objectOf({ confirmId: isConfirmId }),
  },
  'folder/confirm-get': { payload: objectOf({ confirmId: isConfirmId }), result: isConfirmDetails },
  'folder/confirm-answer': {
    payload: objectOf({ confirmId: isConfirmId, approve: isBoolean }),
    result: isConfirmState,
  },
  'folder/confirm-status': { payload: objectOf({ confirmId: isConfirmId }), result: isConfirmState },
} satisfies { [C in keyof FolderCommands]: { payload: Guard<unknown>; result: Guard<unknown> } };

export type FolderCommand = keyof FolderCommands;
export const FOLDER_COMMANDS = Object.keys(folderSpec) as FolderCommand[];
export const isFolderCommand = (cmd: string): cmd is FolderCommand =>
  Object.prototype.hasOwnProperty.call(folderSpec, cmd);

/** Extension pages the background may open on a folder view's behalf. */
export const OPENABLE_PAGES = ['viewer.html', 'folder-view.html'] as const;
export type OpenablePage = (typeof OPENABLE_PAGES)[number];

/** Background-handled UI commands of the folder view. */
export type FolderUiExtraCommands = {
  /** Opens an extension page (viewer, folder view as a tab) with a fragment of ids only. */
  'tabs/open-page': { payload: { page: OpenablePage; hash: string }; result: Empty };
  /**
   * Engine → background (Chrome: from the offscreen document only): save a verified download, given as an
   * object URL of the engine document, to the user's downloads folder.
   */
  'downloads/save': { payload: { url: string; filename: string }; result: { downloadId: number } };
  /** Engine → background: how that download is doing (the engine revokes its URL when it ended). */
  'downloads/state': {
    payload: { downloadId: number };
    result: { state: 'in_progress' | 'complete' | 'interrupted' | 'gone'; error: string | null };
  };
};

export const folderUiExtraSpec = {
  'tabs/open-page': {
    payload: objectOf({ page: oneOf(OPENABLE_PAGES), hash: stringOf(512, /^[A-Za-z0-9_=&%.-]*$/) }),
    result: isEmpty,
  },
  'downloads/save': {
    payload: objectOf({
      url: stringOf(512, /^blob:[a-z-]+-extension:\/\/[A-Za-z0-9._-]+\/[0-9a-f-]{36}$/),
      filename: stringOf(255),
    }),
    result: objectOf({ downloadId: isInteger }),
  },
  'downloads/state': {
    payload: objectOf({ downloadId: isInteger }),
    result: objectOf({
      state: oneOf(['in_progress', 'complete', 'interrupted', 'gone'] as const),
      error: union(stringOf(200), literal(null)),
    }),
  },
} satisfies { [C in keyof FolderUiExtraCommands]: { payload: Guard<unknown>; result: Guard<unknown> } };

// A standalone channel object is handy for tests of the folder commands alone.
export const folderChannel = defineChannel<'ui', FolderCommands>('ui', folderSpec);
