/**
 * The "ui" channel: extension pages (popup, options, side panel, connect tab, folder-view iframe) →
 * background. Commands named `engine/*` are forwarded to the engine host; `origins/*` are handled by the
 * background itself (it owns host permissions and content-script registration).
 */
import { defineChannel, type RequestOf } from './envelope';
import { arrayOf, isEmpty, objectOf, oneOf, stringOf, type Empty, type Guard } from './guards';
import { isServerOrigin } from './origin';
import { accountCommandSpecs, isStatusResult, type AccountCommands, type StatusResult } from './accounts';
import { folderSpec, folderUiExtraSpec, type FolderCommands, type FolderUiExtraCommands } from './folder';
import {
  deviceCommandSpecs,
  deviceUiExtraSpec,
  type DeviceCommands,
  type DeviceUiExtraCommands,
} from './devices';

export const ENGINE_HOSTS = ['offscreen', 'background'] as const;
export type EngineHost = (typeof ENGINE_HOSTS)[number];

export interface PingResult {
  /** The extension version (manifest). */
  version: string;
  /** Where the engine runs: Chrome's offscreen document or Firefox's background page. */
  host: EngineHost;
}

export type { AccountSummary, StatusResult } from './accounts';
export { isStatusResult };

export interface OriginsResult {
  origins: string[];
}

export const isPingResult = objectOf({
  version: stringOf(64),
  host: oneOf(ENGINE_HOSTS),
}) as Guard<PingResult>;
export const isOriginsResult: Guard<OriginsResult> = objectOf({ origins: arrayOf(isServerOrigin, 64) });
const isOriginPayload: Guard<{ origin: string }> = objectOf({ origin: isServerOrigin });

export type UiCommands = {
  'engine/ping': { payload: Empty; result: PingResult };
  'engine/status': { payload: Empty; result: StatusResult };
  'origins/list': { payload: Empty; result: OriginsResult };
  /** Requires the host permission for the origin to be granted already (the page asks for it). */
  'origins/connect': { payload: { origin: string }; result: OriginsResult };
  'origins/disconnect': { payload: { origin: string }; result: OriginsResult };
} & FolderCommands &
  FolderUiExtraCommands &
  AccountCommands &
  DeviceCommands &
  DeviceUiExtraCommands;

export const uiChannel = defineChannel<'ui', UiCommands>('ui', {
  'engine/ping': { payload: isEmpty, result: isPingResult },
  'engine/status': { payload: isEmpty, result: isStatusResult },
  'origins/list': { payload: isEmpty, result: isOriginsResult },
  'origins/connect': { payload: isOriginPayload, result: isOriginsResult },
  'origins/disconnect': { payload: isOriginPayload, result: isOriginsResult },
  ...folderSpec,
  ...folderUiExtraSpec,
  ...accountCommandSpecs,
  ...deviceCommandSpecs,
  ...deviceUiExtraSpec,
});

export type UiRequest = RequestOf<'ui', UiCommands>;
export type UiCommand = UiRequest['cmd'];
