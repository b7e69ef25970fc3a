/**
 * The engine dispatcher: validates an engine-channel request and runs its handler.
 *
 * This is the placeholder engine that proves the plumbing (background ↔ offscreen on Chrome, in-process
 * on Firefox). The real engine (`lib/engine`) will replace the handlers below; the dispatch, validation
 * and error mapping stay. See entrypoints/README.md, "Adding an engine command".
 */
import {
  engineChannel,
  okReply,
  replyFromError,
  type EngineCommands,
  type EngineHost,
  type EngineRequest,
  type ErrorReply,
  type Reply,
} from '../../lib/messages';
import { FolderCommandService, type SessionSource } from '../../lib/engine/folder-commands';
import type { TransferHost } from './transfer-host';
import {
  accountHandlers,
  deviceHandlers,
  engineStatus,
  getAccountService,
  getDeviceService,
} from './accounts';

export { getAccountService, setBadgeSink } from './accounts';

type Handlers = {
  [C in keyof EngineCommands]: (
    payload: EngineCommands[C]['payload'],
  ) => Promise<EngineCommands[C]['result']>;
};

export interface EngineHostOptions {
  host: EngineHost;
  /** The extension version; a promise where it must be read asynchronously (offscreen: no getManifest). */
  version: string | Promise<string>;
  /** Unlocked sessions per server origin (the account service); none → folder commands answer `locked`. */
  sessions?: SessionSource;
  /** Upload files in and verified downloads out (transfer-host.ts); none → downloads answer `unsupported`. */
  transferHost?: TransferHost;
}

export interface EngineDispatcher {
  /** Validates `message` as an engine request and answers it; never throws. */
  dispatch(message: unknown): Promise<Reply<unknown> | ErrorReply>;
}

function randomViewId(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

export function createEngineDispatcher(opts: EngineHostOptions): EngineDispatcher {
  const folders = new FolderCommandService(opts.sessions ?? getAccountService(), {
    randomId: randomViewId,
    ...(opts.transferHost ? { sinkFor: opts.transferHost.sinkFor } : {}),
  });
  opts.transferHost?.attach(folders);
  const handlers: Handlers = {
    'engine/ping': async () => ({ version: await opts.version, host: opts.host }),
    'engine/status': () => engineStatus(),
    'engine/is-encrypted-folder': ({ origin, path }) => folders.isEncryptedFolder(origin, path),
    'engine/open-view': ({ origin, tabId, path }) => folders.openView(origin, tabId, path),
    'engine/encrypted-children': ({ origin, path }) => folders.encryptedChildren(origin, path),
    'engine/report-server-e2ee': async ({ origin }) => folders.reportServerE2ee(origin),
    ...folders.handlers(),
    ...accountHandlers(),
    ...deviceHandlers(),
  };
  // Start device-approval polling when the engine has a vault (a browser); plain Node has none.
  if (typeof globalThis.indexedDB !== 'undefined' && !opts.sessions) getDeviceService();

  async function run(request: EngineRequest): Promise<unknown> {
    // One switch-free dispatch: the handler table is keyed by the validated command.
    const handler = handlers[request.cmd] as (payload: EngineRequest['payload']) => Promise<unknown>;
    return handler(request.payload);
  }

  return {
    async dispatch(message) {
      const checked = engineChannel.check(message);
      if (!checked.ok) return checked.reply;
      const { request } = checked;
      try {
        const result = await run(request);
        if (!engineChannel.isResult(request.cmd, result)) {
          throw new Error('engine handler returned a result of the wrong shape');
        }
        return okReply(request.id, result);
      } catch (e) {
        return replyFromError(request.id, e);
      }
    },
  };
}
