/**
 * The background: a thin router. Every message goes through the sender preflight (lib/messages/preflight),
 * then either to a background handler (origins, tabs) or to the engine host. It holds no state that
 * matters: Chrome may stop the service worker at any time.
 */
import { browser } from 'wxt/browser';
import {
  errorReply,
  okReply,
  preflight,
  replyFromError,
  type ContentRequest,
  type ErrorReply,
  type Reply,
  type SenderClass,
  type UiRequest,
} from '@/lib/messages';
import { handleAccountUi, isAccountUiRequest } from './account-routes';
import { handleDeviceUi, isDeviceUiRequest } from './device-routes';
import { callEngine } from './engine-link';
import { handleFolderUi, isFolderUiRequest } from './folder-routes';
import { connectOrigin, disconnectOrigin, getConnectedOrigins, syncRegistrations } from './origins';

type ExtensionPage = Extract<SenderClass, { kind: 'extension-page' }>;
type ContentScript = Extract<SenderClass, { kind: 'content-script' }>;

async function handleUi(request: UiRequest, _sender: ExtensionPage): Promise<Reply<unknown>> {
  if (isFolderUiRequest(request)) return handleFolderUi(request, _sender);
  if (isAccountUiRequest(request)) return handleAccountUi(request);
  if (isDeviceUiRequest(request)) return handleDeviceUi(request, _sender);
  switch (request.cmd) {
    case 'engine/ping':
      return callEngine('engine/ping', request.payload).then((r) =>
        r.ok ? okReply(request.id, r.result) : { ...r, id: request.id },
      );
    case 'engine/status':
      return callEngine('engine/status', request.payload).then((r) =>
        r.ok ? okReply(request.id, r.result) : { ...r, id: request.id },
      );
    case 'origins/list':
      return okReply(request.id, { origins: await getConnectedOrigins() });
    case 'origins/connect':
      return okReply(request.id, { origins: await connectOrigin(request.payload.origin) });
    case 'origins/disconnect':
      return okReply(request.id, { origins: await disconnectOrigin(request.payload.origin) });
  }
}

async function handleContent(request: ContentRequest, sender: ContentScript): Promise<Reply<unknown>> {
  // The origin and tab come from the verified sender, never from the payload.
  const relay = <R>(r: Reply<R>): Reply<R> =>
    r.ok ? okReply(request.id, r.result) : { ...r, id: request.id };
  switch (request.cmd) {
    case 'content/is-encrypted-folder':
      return relay(
        await callEngine('engine/is-encrypted-folder', { origin: sender.origin, path: request.payload.path }),
      );
    case 'content/open-folder-view':
      return relay(
        await callEngine('engine/open-view', {
          origin: sender.origin,
          tabId: sender.tabId,
          path: request.payload.path,
        }),
      );
    case 'content/encrypted-children':
      return relay(
        await callEngine('engine/encrypted-children', { origin: sender.origin, path: request.payload.path }),
      );
    case 'content/report-server-e2ee':
      return relay(await callEngine('engine/report-server-e2ee', { origin: sender.origin }));
  }
}

export async function route(message: unknown, sender: unknown): Promise<Reply<unknown> | ErrorReply> {
  let checked;
  try {
    checked = preflight(message, sender, {
      runtimeId: browser.runtime.id,
      extensionOrigin: browser.runtime.getURL('/').replace(/\/$/, ''),
      connectedOrigins: await getConnectedOrigins(),
    });
  } catch (e) {
    return replyFromError(null, e);
  }
  if (!checked.ok) return checked.reply;
  try {
    return checked.channel === 'ui'
      ? await handleUi(checked.request, checked.sender)
      : await handleContent(checked.request, checked.sender);
  } catch (e) {
    return replyFromError(checked.request.id, e);
  }
}

export default defineBackground(() => {
  browser.runtime.onMessage.addListener((message: unknown, sender) => {
    // Engine-channel messages are the background's own requests to the offscreen document; Chrome does not
    // deliver them back here, but never answer one if it ever arrives.
    if (
      typeof message === 'object' &&
      message !== null &&
      (message as { channel?: unknown }).channel === 'engine'
    ) {
      return Promise.resolve(
        errorReply(
          null,
          'permission',
          'Cipherfold refused a request from a page it does not trust. Nothing was done. No action is needed.',
        ),
      );
    }
    return route(message, sender);
  });

  browser.runtime.onInstalled.addListener(() => void syncRegistrations().catch(() => undefined));
  browser.runtime.onStartup.addListener(() => void syncRegistrations().catch(() => undefined));
  browser.permissions.onRemoved.addListener(async (removed) => {
    if (!removed.origins?.length) return;
    await syncRegistrations().catch(() => undefined);
  });
});
