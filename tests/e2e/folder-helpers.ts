/** Shared steps for the folder-view e2e specs: seed the stand-in, connect + unlock alice, open Files. */
import type { Frame, Page } from '@playwright/test';
import { seedDemo, type DemoSeed } from '../../scripts/seed-demo';
import { expect, sendFromExtensionPage, type Device, type TestServer } from './fixtures';

export const DECRYPTED_NAMES = [
  'Read me.md',
  'Budget 2027.csv',
  'lock.png',
  'Projects',
  'Plan — ünïcödé.txt',
  'Archive',
  'old-notes.txt',
];
export const DECRYPTED_CONTENTS = [
  'Hello from Cipherfold',
  'This file was encrypted on your device',
  'rent,1200',
  'Step 1: encrypt everything',
  'Nothing to see here',
];

async function ui<T>(page: Page, cmd: string, payload: unknown): Promise<T> {
  const r = (await sendFromExtensionPage(page, {
    channel: 'ui',
    id: `e2e-${Math.random().toString(36).slice(2, 12)}`,
    cmd,
    payload,
  })) as { ok: boolean; result?: T; error?: { kind: string; message: string } };
  if (!r.ok) throw new Error(`${cmd}: ${r.error?.kind}: ${r.error?.message}`);
  return r.result as T;
}

/**
 * Seeds alice's encrypted tree, connects alice (app password, as the connect page's manual path does),
 * registers the origin and unlocks with her recovery words through the engine's real unlock command.
 */
export async function seedAndUnlock(device: Device, server: TestServer): Promise<DemoSeed> {
  const seed = await seedDemo(server.url);
  const page = await device.openExtensionPage('popup.html');
  try {
    const { accountId } = await ui<{ accountId: string }>(page, 'accounts/connect-manual', {
      serverUrl: server.url,
      loginName: 'alice',
      appPassword: server.control!.createAppPassword('alice'),
    });
    await ui(page, 'origins/connect', { origin: server.url });
    await ui(page, 'accounts/unlock-words', { accountId, words: seed.words.alice, mode: null, mark: null });
  } finally {
    await page.close();
  }
  return seed;
}

/** Logs alice into the stand-in's web UI and opens the Files app at `/`. */
export async function openFiles(device: Device, server: TestServer): Promise<Page> {
  const page = await device.context.newPage();
  await page.goto(
    `${server.url}/index.php/login?redirect_url=${encodeURIComponent('/index.php/apps/files/')}`,
  );
  await page.locator('#user').fill('alice');
  await page.locator('#password').fill('alice-password');
  await page.locator('#submit-login').click();
  await page.waitForURL(/\/apps\/files\/files\/\d+\?dir=/);
  await expect(page.locator('[data-cy-files-list-row-name="Encrypted"]')).toBeVisible();
  return page;
}

/**
 * Logs in, opens the seeded encrypted folder `/Encrypted` in the Files app and waits until the Cipherfold
 * frame shows its listing.
 */
export async function openEncrypted(
  device: Device,
  server: TestServer,
): Promise<{ page: Page; frame: Frame }> {
  const page = await openFiles(device, server);
  await page.locator('[data-cy-files-list-row-name="Encrypted"] a').click();
  const frame = await folderFrame(page);
  await expect(row(frame, 'Read me.md')).toBeVisible();
  return { page, frame };
}

/** The folder-view iframe (inside a closed shadow root, so found through the frame tree). */
export async function folderFrame(page: Page): Promise<Frame> {
  let frame: Frame | undefined;
  await expect
    .poll(() => (frame = page.frames().find((f) => f.url().includes('/folder-view.html'))) !== undefined, {
      timeout: 15_000,
    })
    .toBe(true);
  return frame!;
}

export function hasFolderFrame(page: Page): boolean {
  return page.frames().some((f) => f.url().includes('/folder-view.html'));
}

/** A row of the folder view by decrypted name. */
export function row(frame: Frame, name: string) {
  return frame.locator(`.row[data-name="${name.replace(/"/g, '\\"')}"]`);
}

/** Every text the page's own JS could read: light DOM + open shadow roots (as a hostile script would). */
export async function pageReadableText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const out: string[] = [];
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        for (const n of el.childNodes) if (n.nodeType === 3) out.push(n.nodeValue ?? '');
        for (const a of el.getAttributeNames()) out.push(el.getAttribute(a) ?? '');
        if ((el as HTMLInputElement).value) out.push((el as HTMLInputElement).value);
        if (el.shadowRoot) walk(el.shadowRoot);
        if (el instanceof HTMLIFrameElement) {
          try {
            if (el.contentDocument) walk(el.contentDocument);
          } catch {
            /* cross-origin */
          }
        }
      }
    };
    walk(document);
    return out.join('\n') + '\n' + document.title + '\n' + location.href;
  });
}

export interface SavedDownload {
  filename: string;
  basename: string;
  state: string;
  bytes: number;
}

/** What the browser's downloads API saved on this device (the engine saves verified downloads there). */
export async function savedDownloads(device: Device): Promise<SavedDownload[]> {
  const items = await device.serviceWorker.evaluate(() => chrome.downloads.search({}));
  return items.map((d) => ({
    filename: d.filename,
    basename: d.filename.split(/[\\/]/).pop() ?? '',
    state: d.state,
    bytes: d.bytesReceived,
  }));
}
