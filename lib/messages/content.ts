/**
 * The "content" channel: our content script in a tab of a connected Nextcloud → background.
 *
 * The content script shares the DOM with server-delivered JavaScript, so this channel is deliberately
 * tiny and nothing on it returns secrets, keys or plaintext names. The server origin and tab are never
 * taken from the payload: the background derives them from the verified sender.
 */
import { defineChannel, type RequestOf } from './envelope';
import { isBoolean, objectOf, stringOf, type Guard } from './guards';

/** A server-side folder path as the Files app shows it in its URL (`dir=`), e.g. `/Photos/2024`. */
export const isFolderPath: Guard<string> = stringOf(4096, /^\/[^\0]*$/);

/** Opaque id of a folder-view session; the folder-view iframe gets it in its URL fragment. */
export const isViewId: Guard<string> = stringOf(64, /^[A-Za-z0-9_-]{16,64}$/);

export type ContentCommands = {
  'content/is-encrypted-folder': { payload: { path: string }; result: { encrypted: boolean } };
  'content/open-folder-view': { payload: { path: string }; result: { viewId: string } };
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
});

export type ContentRequest = RequestOf<'content', ContentCommands>;
export type ContentCommand = ContentRequest['cmd'];
