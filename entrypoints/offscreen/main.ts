/**
 * Chrome's offscreen document: a long-lived DOM context that hosts the engine, because the MV3 service
 * worker may be stopped at any time. Only part of `chrome.runtime` is available here (getURL, id,
 * sendMessage, onMessage — not getManifest).
 *
 * It answers engine-channel messages from the extension's own background only; everything else that
 * Chrome broadcasts to extension contexts (UI and content-script messages) is ignored.
 */
import { call, callOrThrow, isFromBackground, uiChannel } from '@/lib/messages';
import { createEngineDispatcher, setBadgeSink } from './engine-host';
import { createTransferHost } from './transfer-host';

// Offscreen documents get only a few chrome.runtime members (no getManifest): read the version from the file.
const version = fetch(chrome.runtime.getURL('/manifest.json'))
  .then((r) => r.json() as Promise<{ version?: unknown }>)
  .then((m) => (typeof m.version === 'string' ? m.version : 'unknown'));
const send = (m: unknown) => chrome.runtime.sendMessage(m);
// The engine reports waiting device approvals; the background owns the toolbar badge.
setBadgeSink((count) => {
  void call(uiChannel, send, 'devices/badge', { count }).catch(() => undefined);
});
// Verified downloads are saved by the background (the downloads API is not available here).
const transferHost = createTransferHost({
  save: async (url, filename) =>
    (await callOrThrow(uiChannel, send, 'downloads/save', { url, filename })).downloadId,
  state: (downloadId) => callOrThrow(uiChannel, send, 'downloads/state', { downloadId }),
});
const engine = createEngineDispatcher({ host: 'offscreen', version, transferHost });
const backgroundUrl = chrome.runtime.getURL('/background.js');

chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
  if (
    typeof message !== 'object' ||
    message === null ||
    (message as { channel?: unknown }).channel !== 'engine'
  ) {
    return false; // not for the engine: let the background answer
  }
  if (!isFromBackground(sender, chrome.runtime.id, backgroundUrl)) return false;
  void engine.dispatch(message).then(sendResponse);
  return true;
});
