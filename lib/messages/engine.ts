/**
 * The "engine" channel: background → engine host (Chrome: offscreen document; Firefox: the background
 * page calls the dispatcher directly). Only the background sends on it; the offscreen document checks
 * that the sender is the extension's own background before answering.
 *
 * Context the engine needs about the original caller (server origin, tab) is put into the payload by
 * the background from the verified sender, never copied from what a content script claimed.
 */
import { defineChannel, type RequestOf } from './envelope';
import { isBoolean, isEmpty, isInteger, objectOf, type Empty } from './guards';
import { contentChannel, isFolderPath, isViewId, type ContentCommands } from './content';
import { folderSpec, type FolderCommands } from './folder';
import { isServerOrigin } from './origin';
import { accountCommandSpecs, type AccountCommands } from './accounts';
import { deviceCommandSpecs, type DeviceCommands } from './devices';
import { isPingResult, isStatusResult, type PingResult, type StatusResult } from './ui';

export type EngineCommands = {
  'engine/ping': { payload: Empty; result: PingResult };
  'engine/status': { payload: Empty; result: StatusResult };
  'engine/is-encrypted-folder': { payload: { origin: string; path: string }; result: { encrypted: boolean } };
  'engine/open-view': {
    payload: { origin: string; tabId: number; path: string };
    result: { viewId: string };
  };
  'engine/encrypted-children': { payload: { origin: string; path: string }; result: { fileIds: string[] } };
  'engine/report-server-e2ee': { payload: { origin: string }; result: Empty };
} & FolderCommands &
  AccountCommands &
  DeviceCommands;

const contentChannelResult =
  <C extends keyof ContentCommands>(cmd: C) =>
  (x: unknown): x is ContentCommands[C]['result'] =>
    contentChannel.isResult(cmd, x);

export const engineChannel = defineChannel<'engine', EngineCommands>('engine', {
  'engine/ping': { payload: isEmpty, result: isPingResult },
  'engine/status': { payload: isEmpty, result: isStatusResult },
  'engine/is-encrypted-folder': {
    payload: objectOf({ origin: isServerOrigin, path: isFolderPath }),
    result: objectOf({ encrypted: isBoolean }),
  },
  'engine/open-view': {
    payload: objectOf({ origin: isServerOrigin, tabId: isInteger, path: isFolderPath }),
    result: objectOf({ viewId: isViewId }),
  },
  'engine/encrypted-children': {
    payload: objectOf({ origin: isServerOrigin, path: isFolderPath }),
    result: contentChannelResult('content/encrypted-children'),
  },
  'engine/report-server-e2ee': { payload: objectOf({ origin: isServerOrigin }), result: isEmpty },
  ...folderSpec,
  ...accountCommandSpecs,
  ...deviceCommandSpecs,
});

export type EngineRequest = RequestOf<'engine', EngineCommands>;
export type EngineCommand = EngineRequest['cmd'];
