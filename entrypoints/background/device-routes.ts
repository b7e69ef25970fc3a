/**
 * `devices/*` ui commands (device approval, docs/device-approval.md §7): forwarded unchanged to the engine
 * host, except `devices/badge`, which the background answers itself by setting the toolbar badge.
 *
 * Who may call what (checked here from the verified sender URL, never from the payload):
 * - answer / approve / reject / forget and the new device's start / confirm / reject come only from
 *   Cipherfold's own top-level pages (popup, approve tab, options) — never from the folder view, which sits
 *   inside the Nextcloud page where the page could overlay or clickjack it;
 * - `devices/badge` comes only from the offscreen document that hosts the engine (Chrome).
 */
import { browser } from 'wxt/browser';
import {
  DEVICE_CHROME_ONLY,
  DEVICE_CHROME_PAGES,
  errorReply,
  isDeviceCommand,
  okReply,
  type DeviceCommand,
  type DeviceCommands,
  type Reply,
  type SenderClass,
  type UiRequest,
} from '@/lib/messages';
import { callEngine } from './engine-link';

type ExtensionPage = Extract<SenderClass, { kind: 'extension-page' }>;
export type DeviceUiRequest = Extract<UiRequest, { cmd: DeviceCommand | 'devices/badge' }>;

export function isDeviceUiRequest(r: UiRequest): r is DeviceUiRequest {
  return isDeviceCommand(r.cmd) || r.cmd === 'devices/badge';
}

/** The sender's page path (`/popup.html`), or null when the URL is not one of ours. */
function pagePath(sender: ExtensionPage): string | null {
  try {
    const u = new URL(sender.url);
    return u.origin === new URL(browser.runtime.getURL('/')).origin ? u.pathname : null;
  } catch {
    return null;
  }
}

/** Sets the toolbar badge to the number of device approvals waiting (empty when none). */
export async function setApprovalBadge(count: number): Promise<void> {
  // MV3 (Chrome) has `action`; Firefox MV2 has `browserAction`.
  const b = browser as unknown as {
    action?: typeof browser.action;
    browserAction?: typeof browser.action;
  };
  const action = b.action ?? b.browserAction;
  if (!action) return;
  await action.setBadgeText({ text: count > 0 ? String(Math.min(count, 99)) : '' });
  if (count > 0) await action.setBadgeBackgroundColor({ color: '#c9302c' });
  await action.setTitle({
    title:
      count > 0
        ? `Cipherfold — ${count} device${count === 1 ? '' : 's'} waiting for your approval`
        : 'Cipherfold',
  });
}

export async function handleDeviceUi(
  request: DeviceUiRequest,
  sender: ExtensionPage,
): Promise<Reply<unknown>> {
  const path = pagePath(sender);
  if (request.cmd === 'devices/badge') {
    if (path !== '/offscreen.html') {
      return errorReply(
        request.id,
        'permission',
        'Only the Cipherfold engine sets the badge. Nothing was done.',
      );
    }
    await setApprovalBadge(request.payload.count).catch(() => undefined);
    return okReply(request.id, {});
  }
  if (
    DEVICE_CHROME_ONLY.has(request.cmd) &&
    !(DEVICE_CHROME_PAGES as readonly string[]).includes(path ?? '')
  ) {
    return errorReply(
      request.id,
      'permission',
      'Device approvals can only be answered from the Cipherfold toolbar popup or its own tabs. Nothing was done. Open the Cipherfold popup.',
    );
  }
  const reply = await callEngine(
    request.cmd as keyof DeviceCommands,
    request.payload as DeviceCommands[keyof DeviceCommands]['payload'],
  );
  return reply.ok ? okReply(request.id, reply.result) : { ...reply, id: request.id };
}
