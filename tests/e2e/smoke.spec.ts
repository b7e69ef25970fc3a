import fs from 'node:fs';
import path from 'node:path';
import {
  BUILD_DIR,
  evaluateInContentScript,
  expect,
  grantOrigin,
  sendFromExtensionPage,
  test,
} from './fixtures';

const msg = (channel: string, cmd: string, payload: unknown = {}) => ({
  channel,
  id: `e2e-${Math.random().toString(36).slice(2, 12)}`,
  cmd,
  payload,
});

test('the extension loads, with least privilege at install', async ({ serviceWorker, extensionId }) => {
  expect(extensionId).toMatch(/^[a-p]{32}$/);
  expect(serviceWorker.url()).toBe(`chrome-extension://${extensionId}/background.js`);
  const manifest = JSON.parse(fs.readFileSync(path.join(BUILD_DIR, 'manifest.json'), 'utf8'));
  expect(manifest.host_permissions).toBeUndefined();
  expect(manifest.content_scripts).toBeUndefined();
  expect(manifest.optional_host_permissions).toEqual(['http://*/*', 'https://*/*']);
  // No tabs, webRequest, cookies or history: only what the product uses (downloads: verified saves).
  expect([...manifest.permissions].sort()).toEqual([
    'downloads',
    'offscreen',
    'scripting',
    'sidePanel',
    'storage',
  ]);
  expect(JSON.stringify(manifest)).not.toContain('<all_urls>');
});

test('the popup shows "not connected" through background → offscreen engine', async ({
  device,
  serviceWorker,
}) => {
  const popup = await device.openExtensionPage('popup.html');
  await expect(popup.locator('[data-state="not-connected"]')).toBeVisible();
  await expect(popup.getByTestId('status-title')).toHaveText('Not connected');
  await expect(popup.getByRole('button', { name: 'Connect to your Nextcloud' })).toBeVisible();
  await expect(popup.getByRole('button', { name: 'Open side panel' })).toBeVisible();
  await expect(popup.getByRole('button', { name: 'Settings' })).toBeVisible();

  // The answer really came from the offscreen document.
  const ping = (await sendFromExtensionPage(popup, msg('ui', 'engine/ping'))) as {
    ok: boolean;
    result: unknown;
  };
  expect(ping).toMatchObject({ ok: true, result: { host: 'offscreen', version: '0.1.0' } });
  const contexts = await serviceWorker.evaluate(() =>
    chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT' as chrome.runtime.ContextType] }),
  );
  expect(contexts).toHaveLength(1);

  // Gone (as after a browser clean-up) → re-created on the next engine command.
  await serviceWorker.evaluate(() => chrome.offscreen.closeDocument());
  const status = await sendFromExtensionPage(popup, msg('ui', 'engine/status'));
  expect(status).toMatchObject({ ok: true, result: { accounts: [], locked: true } });

  // Malformed and unknown commands get typed errors.
  expect(await sendFromExtensionPage(popup, msg('ui', 'engine/unlock-everything'))).toMatchObject({
    ok: false,
    error: { kind: 'unsupported' },
  });
  expect(
    await sendFromExtensionPage(popup, { ...msg('ui', 'engine/status'), payload: { x: 1 } }),
  ).toMatchObject({
    ok: false,
    error: { kind: 'format' },
  });
  // Extension pages may not talk on the content or engine channel.
  for (const channel of ['content', 'engine']) {
    expect(await sendFromExtensionPage(popup, msg(channel, 'engine/status'))).toMatchObject({
      ok: false,
      error: { kind: 'permission' },
    });
  }
});

test('the other extension pages render with the Cipherfold header', async ({ device }) => {
  for (const [page, heading] of [
    ['options.html', 'Settings'],
    ['sidepanel.html', 'Encrypted folder'],
    ['connect.html', 'Connect to your Nextcloud'],
    ['folder-view.html', 'End-to-end encrypted folder'], // top level (own tab) is allowed
  ] as const) {
    const p = await device.openExtensionPage(page);
    await expect(p.locator('header .name')).toHaveText('Cipherfold');
    await expect(p.getByRole('heading', { level: 1 })).toHaveText(heading);
    await p.close();
  }
});

test("the server's Files page loads in the same browser", async ({ context, server }) => {
  const page = await context.newPage();
  const response = await page.goto(`${server.url}/index.php/apps/files/`);
  test.skip(
    server.kind === 'stand-in' && response?.status() === 404,
    'the stand-in does not serve a Files page yet (tests/server/pages.ts)',
  );
  expect(response?.ok()).toBe(true);
  expect(new URL(page.url()).origin).toBe(server.url);
});

test('our content script on a connected server gets only the content commands', async ({
  device,
  server,
}) => {
  await grantOrigin(device, server.url);
  const page = await device.context.newPage();
  await page.goto(`${server.url}/status.php`);
  const send = (m: unknown) =>
    evaluateInContentScript(page, `chrome.runtime.sendMessage(${JSON.stringify(m)})`);

  expect(await send(msg('content', 'content/is-encrypted-folder', { path: '/' }))).toMatchObject({
    ok: true,
    result: { encrypted: false },
  });
  // A view is only created for a folder the server confirms as encrypted, with an unlocked account.
  expect(await send(msg('content', 'content/open-folder-view', { path: '/A' }))).toMatchObject({
    ok: false,
    error: { kind: 'locked' },
  });
  // Nothing else: not the ui channel (status, origins), not the engine, and no origin smuggled in the payload.
  for (const m of [
    msg('ui', 'engine/status'),
    msg('ui', 'origins/connect', { origin: 'https://evil.example' }),
    msg('engine', 'engine/status'),
  ]) {
    expect(await send(m)).toMatchObject({ ok: false, error: { kind: 'permission' } });
  }
  expect(
    await send(msg('content', 'content/is-encrypted-folder', { path: '/', origin: 'https://other.example' })),
  ).toMatchObject({ ok: false, error: { kind: 'format' } });
});

test('a web page cannot message the extension', async ({ device, server, extensionId }) => {
  await grantOrigin(device, server.url); // even a connected server's own page JS gets nothing
  const page = await device.context.newPage();
  await page.goto(`${server.url}/status.php`);
  const outcome = await page.evaluate(async (id) => {
    const rt = (
      globalThis as { chrome?: { runtime?: { sendMessage?: (...a: unknown[]) => Promise<unknown> } } }
    ).chrome?.runtime;
    if (typeof rt?.sendMessage !== 'function') return 'no-api';
    try {
      await rt.sendMessage(id, {
        channel: 'ui',
        id: 'e2e-0123456789',
        cmd: 'origins/connect',
        payload: { origin: 'https://evil.example' },
      });
      return 'delivered';
    } catch {
      return 'rejected';
    }
  }, extensionId);
  expect(['no-api', 'rejected']).toContain(outcome);
  // window.postMessage to the page does not reach the extension either; the allow-list is unchanged.
  const popup = await device.openExtensionPage('popup.html');
  expect(await sendFromExtensionPage(popup, msg('ui', 'origins/list'))).toMatchObject({
    ok: true,
    result: { origins: [server.url] },
  });
});

test('a second device is an independent profile', async ({ device, openDevice, server }) => {
  await grantOrigin(device, server.url);
  const other = await openDevice();
  expect(other.extensionId).toBe(device.extensionId);
  const page = await other.openExtensionPage('popup.html');
  expect(await sendFromExtensionPage(page, msg('ui', 'origins/list'))).toMatchObject({
    ok: true,
    result: { origins: [] },
  });
  await expect(page.getByTestId('status-title')).toHaveText('Not connected');
});

test('the folder view works only when framed by a connected server', async ({ device, server }) => {
  test.skip(server.kind !== 'stand-in', 'needs two origins on one host (127.0.0.1 and localhost)');
  await grantOrigin(device, server.url); // http://127.0.0.1:PORT
  const other = server.url.replace('127.0.0.1', 'localhost'); // same server, different (unconnected) origin
  const frameHtml = (src: string) => `<iframe id="f" src="${src}" style="width:600px;height:300px"></iframe>`;
  const src = device.extensionUrl('folder-view.html');
  for (const [base, expected, heading] of [
    [server.url, 'allowed', 'End-to-end encrypted folder'],
    [other, 'refused', 'Not available here'],
  ] as const) {
    const page = await device.context.newPage();
    await page.goto(`${base}/status.php`);
    await page.setContent(frameHtml(src));
    const frame = page.frameLocator('#f');
    await expect(frame.locator(`html[data-embedding="${expected}"]`)).toBeAttached();
    await expect(frame.getByRole('heading', { level: 1 })).toHaveText(heading);
    // The page cannot read into the extension frame.
    expect(
      await page.evaluate(() => (document.getElementById('f') as HTMLIFrameElement).contentDocument),
    ).toBeNull();
    await page.close();
  }
});
