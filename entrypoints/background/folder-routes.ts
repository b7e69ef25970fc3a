/**
 * Background side of the folder view: forwards `folder/*` from extension pages to the engine, opens the
 * confirmation window for destructive actions, and opens viewer / folder-view tabs.
 *
 * Confirmations: the folder view lives in an iframe inside the Nextcloud page, where the page could
 * overlay or clickjack it. So `folder/confirm-request` only records the action in the engine and opens
 * `confirm.html` in its own window; `folder/confirm-get` and `folder/confirm-answer` are accepted only from
 * that top-level extension page (checked here from the verified sender URL).
 */
import { browser } from 'wxt/browser';
import {
  errorReply,
  isFolderCommand,
  okReply,
  type FolderCommand,
  type Reply,
  type SenderClass,
  type UiRequest,
} from '@/lib/messages';
import { downloadState, saveDownload } from './downloads';
import { callEngine } from './engine-link';

type ExtensionPage = Extract<SenderClass, { kind: 'extension-page' }>;
export type FolderUiRequest = Extract<
  UiRequest,
  { cmd: FolderCommand | 'tabs/open-page' | 'downloads/save' | 'downloads/state' }
>;

export function isFolderUiRequest(r: UiRequest): r is FolderUiRequest {
  return (
    isFolderCommand(r.cmd) ||
    r.cmd === 'tabs/open-page' ||
    r.cmd === 'downloads/save' ||
    r.cmd === 'downloads/state'
  );
}

function isEngineDocument(sender: ExtensionPage): boolean {
  return sender.url === browser.runtime.getURL('/offscreen.html');
}

const CONFIRM_ONLY = new Set<string>(['folder/confirm-get', 'folder/confirm-answer']);

function isConfirmPage(sender: ExtensionPage): boolean {
  const base = browser.runtime.getURL('/confirm.html');
  return sender.url === base || sender.url.startsWith(base + '#') || sender.url.startsWith(base + '?');
}

export async function handleFolderUi(
  request: FolderUiRequest,
  sender: ExtensionPage,
): Promise<Reply<unknown>> {
  if (request.cmd === 'tabs/open-page') {
    const url =
      browser.runtime.getURL(`/${request.payload.page}`) +
      (request.payload.hash ? `#${request.payload.hash}` : '');
    await browser.tabs.create({ url });
    return okReply(request.id, {});
  }
  if (request.cmd === 'downloads/save' || request.cmd === 'downloads/state') {
    if (!isEngineDocument(sender)) {
      return errorReply(
        request.id,
        'permission',
        'Only the Cipherfold engine saves downloads. Nothing was done.',
      );
    }
    if (request.cmd === 'downloads/save') {
      return okReply(request.id, {
        downloadId: await saveDownload(request.payload.url, request.payload.filename),
      });
    }
    return okReply(request.id, await downloadState(request.payload.downloadId));
  }
  if (CONFIRM_ONLY.has(request.cmd) && !isConfirmPage(sender)) {
    return errorReply(
      request.id,
      'permission',
      'Only the Cipherfold confirmation window can approve this. Nothing was done. Use the window Cipherfold opened.',
    );
  }
  const reply = await callEngine(request.cmd, request.payload as never);
  if (!reply.ok) return { ...reply, id: request.id };
  if (request.cmd === 'folder/confirm-request') {
    const { confirmId } = reply.result as { confirmId: string };
    await browser.windows.create({
      url: browser.runtime.getURL('/confirm.html') + `#c=${encodeURIComponent(confirmId)}`,
      type: 'popup',
      width: 480,
      height: 460,
      focused: true,
    });
  }
  return okReply(request.id, reply.result);
}
