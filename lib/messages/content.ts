/**
 * The "content" channel: our content script in a tab of a connected Nextcloud → background.
 *
 * The content script shares the DOM with server-delivered JavaScript, so this channel is deliberately
 * tiny and nothing on it returns secrets, keys or plaintext names. The server origin and tab are never
 * taken from the payload: the background derives them from the verified sender.
 */
import { defineChannel, type RequestOf } from './envelope';
import { arrayOf, isBoolean, isEmpty, objectOf, stringOf, type Empty, type Guard } from './guards';

/** A server-side folder path as the Files app shows it in its URL (`dir=`), e.g. `/Photos/2024`. */
export const isFolderPath: Guard<string> = stringOf(4096, /^\/[^\0]*$/);

/** Opaque id of a folder-view session; the folder-view iframe gets it in its URL fragment. */
export const isViewId: Guard<string> = stringOf(64, /^[A-Za-z0-9_-]{16,64}$/);

export type ContentCommands = {
  'content/is-encrypted-folder': { payload: { path: string }; result: { encrypted: boolean } };
  'content/open-folder-view': { payload: { path: string }; result: { viewId: string } };
  /** File ids (as the server reports them) of the end-to-end encrypted folders directly inside `path`. */
  'content/encrypted-children': { payload: { path: string }; result: { fileIds: string[] } };
  /** The page shows signs of the server's own in-browser E2EE code (the folder view then warns). */
  'content/report-server-e2ee': { payload: Empty; result: Empty };
};

export const contentChannel = defineChannel<'content', ContentCommands>('content', {
  'content/is-encrypted-folder': {
    payload: objectOf({ path: isFolderPath }),
    result: objectOf({ encrypted: isBoolean }),
  },
  'content/open-folder-view': {
    payload: objectOf({ path: isFolderPath }),
    result: objectOf({ viewId: isViewId }),
  },
  'content/encrypted-children': {
    payload: objectOf({ path: isFolderPath }),
    result: objectOf({ fileIds: arrayOf(stringOf(32, /^[0-9]{1,20}$/), 10_000) }),
  },
  'content/report-server-e2ee': { payload: isEmpty, result: isEmpty },
});

export type ContentRequest = RequestOf<'content', ContentCommands>;
export type ContentCommand = ContentRequest['cmd'];
