/**
 * Chrome's offscreen document: a long-lived DOM context that hosts the engine, because the MV3 service
 * worker may be stopped at any time. Only `chrome.runtime` is available here.
 *
 * It answers engine-channel messages from the extension's own background only; everything else that
 * Chrome broadcasts to extension contexts (UI and content-script messages) is ignored.
 */
import { isFromBackground } from '@/lib/messages';
import { createEngineDispatcher } from './engine-host';

const engine = createEngineDispatcher({ host: 'offscreen', version: chrome.runtime.getManifest().version });
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
