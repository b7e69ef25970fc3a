import { expect, test } from './fixtures';
import {
  DECRYPTED_NAMES,
  folderFrame,
  hasFolderFrame,
  openFiles,
  pageReadableText,
  row,
  savedDownloads,
  seedAndUnlock,
} from './folder-helpers';

test.describe.configure({ timeout: 120_000 });

test('an encrypted folder opens in the Cipherfold frame over the Files list; names never reach the page', async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'seeds the stand-in');
  await seedAndUnlock(device, server);
  const page = await openFiles(device, server);

  // Plain listing: the encrypted folder gets a lock badge (ids from the engine), no frame.
  await expect(
    page.locator('[data-cy-files-list-row-name="Encrypted"] [data-cipherfold-badge]'),
  ).toBeVisible();
  await expect(page.locator('[data-cy-files-list-row-name="Documents"] [data-cipherfold-badge]')).toHaveCount(
    0,
  );
  expect(hasFolderFrame(page)).toBe(false);

  // History-API navigation into the encrypted folder: the page shows its error view, Cipherfold covers it.
  await page.locator('[data-cy-files-list-row-name="Encrypted"] a').click();
  await expect(page).toHaveURL(/dir=%2FEncrypted$/);
  await expect(page.locator('[data-cy-files-content-error]')).toBeAttached();
  const frame = await folderFrame(page);
  expect(frame.url()).toMatch(/\/folder-view\.html#v=[A-Za-z0-9_-]{16,64}$/); // only the view id
  for (const name of ['Read me.md', 'Budget 2027.csv', 'lock.png', 'Projects']) {
    await expect(row(frame, name)).toBeVisible();
  }
  await expect(frame.getByTestId('breadcrumbs')).toContainText('Encrypted');
  await expect(frame.getByTestId('server-e2ee-warning')).toHaveCount(0);
  await expect(row(frame, 'Projects').locator('.size')).toHaveText('');
  await expect(row(frame, 'Budget 2027.csv').locator('.size')).toHaveText('31 B');

  // The frame really sits over the Files content.
  const box = await page.locator('[data-cy-files-content]').boundingBox();
  const frameBox = await (await frame.frameElement()).boundingBox();
  expect(
    frameBox && box && Math.abs(frameBox.x - box.x) < 2 && Math.abs(frameBox.width - box.width) < 2,
  ).toBe(true);

  // The page cannot see any decrypted name (light DOM, open shadow roots, iframe documents).
  const visible = await pageReadableText(page);
  for (const name of DECRYPTED_NAMES) expect(visible).not.toContain(name);
  expect(await page.evaluate(() => document.querySelectorAll('iframe').length)).toBe(0); // closed shadow root

  // Sorting and filter-as-you-type.
  await frame.getByRole('columnheader', { name: /Size/ }).click();
  await expect(frame.locator('.row:not(.head)').first()).toHaveAttribute('data-name', 'Projects');
  await frame.getByTestId('file-list').focus();
  await frame.getByTestId('file-list').press('p');
  await frame.getByLabel('Filter file names').pressSequentially('roj');
  await expect(frame.locator('.row:not(.head)')).toHaveCount(1);
  // Enter opens the first match; Backspace goes up.
  await frame.getByLabel('Filter file names').press('Enter');
  await expect(row(frame, 'Plan — ünïcödé.txt')).toBeVisible();
  await expect(row(frame, 'Archive')).toBeVisible();
  await expect(frame.getByTestId('breadcrumbs')).toContainText('Projects');
  await frame.getByTestId('file-list').focus();
  await frame.getByTestId('file-list').press('ArrowDown');
  await frame.getByTestId('file-list').press('Backspace');
  await expect(row(frame, 'Read me.md')).toBeVisible();
  // Keyboard: arrows + Enter into a sub-folder, breadcrumbs back.
  await frame.getByTestId('file-list').press('Home');
  await frame.getByTestId('file-list').press('Enter'); // folders first: Projects
  await expect(row(frame, 'Archive')).toBeVisible();
  await row(frame, 'Archive').dblclick();
  await expect(row(frame, 'old-notes.txt')).toBeVisible();
  await expect(frame.getByTestId('breadcrumbs').getByRole('button')).toHaveText([
    'Encrypted',
    'Projects',
    'Archive',
  ]);
  await frame.getByRole('button', { name: 'Encrypted' }).click();
  await expect(row(frame, 'Projects')).toBeVisible();

  // Browser back (History API): leaving the encrypted folder removes the frame; forward brings it back.
  await page.goBack();
  await expect(page).toHaveURL(/dir=%2F$/);
  await expect.poll(() => hasFolderFrame(page)).toBe(false);
  await page.goForward();
  const again = await folderFrame(page);
  await expect(row(again, 'Read me.md')).toBeVisible();
});

test('new folder, upload, rename, download, preview and delete (confirmed in extension chrome)', async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'seeds the stand-in');
  await seedAndUnlock(device, server);
  const page = await openFiles(device, server);
  await page.locator('[data-cy-files-list-row-name="Encrypted"] a').click();
  const frame = await folderFrame(page);
  await expect(row(frame, 'Read me.md')).toBeVisible();
  const rootId = server.control!.fileIdOf('alice', '/Encrypted')!;

  // New folder.
  await frame.getByRole('button', { name: 'New folder' }).click();
  await frame.getByLabel('New folder name').fill('Holidays');
  await frame.getByRole('button', { name: 'Create' }).click();
  await expect(row(frame, 'Holidays')).toHaveAttribute('data-kind', 'folder');

  // Upload through the iframe's file input.
  const content = 'hello from the e2e upload — ünïcödé\n'.repeat(50);
  await frame.getByTestId('upload-input').setInputFiles({
    name: 'hello.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(content, 'utf8'),
  });
  await expect(row(frame, 'hello.txt')).toBeVisible();
  await expect(frame.getByTestId('transfers')).toContainText('Done');
  // The server stores only ciphertext under a 32-hex name.
  const stored = JSON.stringify(server.control!.committedMetadata(rootId));
  expect(stored).not.toContain('hello.txt');

  // Rename.
  await row(frame, 'hello.txt').getByRole('checkbox').check();
  await frame.getByRole('button', { name: 'Rename' }).click();
  await frame.getByLabel('New name').fill('greeting.txt');
  await frame.getByLabel('New name').press('Enter');
  await expect(row(frame, 'greeting.txt')).toBeVisible();
  await expect(row(frame, 'hello.txt')).toHaveCount(0);

  // Copy next to the original (fresh keys, new name), then into a sub-folder.
  await row(frame, 'greeting.txt').getByRole('checkbox').check();
  await frame.getByTestId('selection-bar').getByRole('button', { name: 'Copy' }).click();
  await frame.getByRole('menu', { name: 'Copy to' }).getByRole('menuitem', { name: 'This folder' }).click();
  await expect(row(frame, 'greeting (copy).txt')).toBeVisible({ timeout: 15_000 });
  await row(frame, 'greeting (copy).txt').getByRole('checkbox').check();
  await frame.getByTestId('selection-bar').getByRole('button', { name: 'Move' }).click();
  await frame.getByRole('menu', { name: 'Move to' }).getByRole('menuitem', { name: 'Holidays' }).click();
  await expect(row(frame, 'greeting (copy).txt')).toHaveCount(0, { timeout: 15_000 });
  await row(frame, 'Holidays').dblclick();
  await expect(row(frame, 'greeting (copy).txt')).toBeVisible();
  await frame.getByTestId('breadcrumbs').getByRole('button', { name: 'Encrypted', exact: true }).click();
  await expect(row(frame, 'Holidays')).toBeVisible();
  await expect(row(frame, 'greeting.txt')).toBeVisible();
  await expect(row(frame, 'greeting (copy).txt')).toHaveCount(0);

  // Download a single file: the engine verifies, then saves through the downloads API; the saved bytes
  // are the plaintext.
  await row(frame, 'greeting.txt').getByRole('checkbox').check();
  await frame.getByTestId('selection-bar').getByRole('button', { name: 'Download' }).click();
  await expect(frame.getByTestId('transfers')).toContainText('Verified and saved to your downloads.');
  await expect(frame.getByTestId('transfers')).toContainText('greeting.txt');
  // (Playwright stores downloads under a generated name, so the name is checked in the list above.)
  const saved = await savedDownloads(device);
  expect(saved).toHaveLength(1);
  expect(saved[0]).toMatchObject({ state: 'complete', bytes: Buffer.byteLength(content) });
  const fs = await import('node:fs');
  expect(fs.readFileSync(saved[0]!.filename, 'utf8')).toBe(content);

  // Preview of a markdown file in the viewer tab (text only).
  const viewerEvent = device.context.waitForEvent('page');
  await row(frame, 'Read me.md').dblclick();
  const viewer = await viewerEvent;
  await expect(viewer).toHaveURL(/\/viewer\.html#/);
  await expect(
    viewer.getByTestId('text-preview').getByRole('heading', { name: 'Hello from Cipherfold' }),
  ).toBeVisible();
  await expect(viewer.locator('header .name')).toHaveText('Cipherfold');
  await viewer.close();

  // Delete: the iframe alone cannot do it; the confirmation opens in a Cipherfold window.
  const historyBefore = server.control!.metadataHistory(rootId).length;
  await row(frame, 'greeting.txt').getByRole('checkbox').check();
  const confirmEvent = device.context.waitForEvent('page');
  await frame.getByTestId('selection-bar').getByRole('button', { name: 'Delete' }).click();
  const confirm = await confirmEvent;
  await expect(confirm).toHaveURL(/\/confirm\.html#c=/);
  await expect(frame.getByTestId('confirm-pending')).toBeVisible();
  await expect(confirm.getByRole('heading', { level: 1 })).toHaveText('Delete “greeting.txt”?');
  expect(server.control!.metadataHistory(rootId).length).toBe(historyBefore); // nothing yet
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(row(frame, 'greeting.txt')).toHaveCount(0, { timeout: 15_000 });
  await expect(row(frame, 'Holidays')).toBeVisible();

  // A cancelled confirmation deletes nothing.
  await row(frame, 'Holidays').getByRole('checkbox').check();
  const secondEvent = device.context.waitForEvent('page');
  await frame.getByTestId('selection-bar').getByRole('button', { name: 'Delete' }).click();
  const second = await secondEvent;
  await second.getByRole('button', { name: 'Cancel' }).click();
  await expect(frame.getByTestId('confirm-pending')).toHaveCount(0, { timeout: 10_000 });
  await expect(row(frame, 'Holidays')).toBeVisible();

  // The iframe (an extension page, but not confirm.html) cannot approve by itself.
  const selfApprove = await frame.evaluate(() =>
    chrome.runtime.sendMessage({
      channel: 'ui',
      id: crypto.randomUUID(),
      cmd: 'folder/confirm-answer',
      payload: { confirmId: 'AAAAAAAAAAAAAAAAAAAAAAAA', approve: true },
    }),
  );
  expect(selfApprove).toMatchObject({ ok: false, error: { kind: 'permission' } });
});

test('tampered or replayed metadata stops the view with a banner naming the check', async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'uses the stand-in adversary');
  await seedAndUnlock(device, server);
  const page = await openFiles(device, server);
  await page.locator('[data-cy-files-list-row-name="Encrypted"] a').click();
  const frame = await folderFrame(page);
  await expect(row(frame, 'Read me.md')).toBeVisible();

  const control = server.control!;
  const rootId = control.fileIdOf('alice', '/Encrypted')!;
  const first = control.metadataHistory(rootId)[0]!;
  // Current text with an older version's signature: the signature does not cover this document.
  control.tamperMetadata(rootId, (text) => ({ text, signature: first.signature }));
  await frame.getByRole('button', { name: 'Encrypted' }).click();
  const banner = frame.getByTestId('failure');
  await expect(banner).toHaveAttribute('data-kind', 'signature');
  await expect(banner).toHaveAttribute('data-tone', 'verification');
  await expect(banner).toContainText("signed by someone who isn't a member");
  await expect(banner).toContainText('Nothing was shown or changed');
  await expect(row(frame, 'Read me.md')).toHaveCount(0);

  // Replay of an older (validly signed) version: the counter went backwards.
  control.resetAdversaries();
  control.replayMetadata(rootId, 0);
  await banner.getByRole('button', { name: 'Try again' }).click();
  await expect(banner).toHaveAttribute('data-kind', 'counter');
  await expect(banner).toContainText('older version');

  // Back to normal: retry shows the listing again.
  control.resetAdversaries();
  await banner.getByRole('button', { name: 'Try again' }).click();
  await expect(row(frame, 'Read me.md')).toBeVisible();
});

test('a locked Cipherfold shows the unlock hint instead of a listing', async ({ device, server }) => {
  test.skip(server.kind !== 'stand-in', 'seeds the stand-in');
  await seedAndUnlock(device, server);
  const page = await openFiles(device, server);
  await page.locator('[data-cy-files-list-row-name="Encrypted"] a').click();
  const frame = await folderFrame(page);
  await expect(row(frame, 'Read me.md')).toBeVisible();
  const popup = await device.openExtensionPage('popup.html');
  await popup.evaluate(() =>
    chrome.runtime.sendMessage({
      channel: 'ui',
      id: crypto.randomUUID(),
      cmd: 'accounts/lock',
      payload: { accountId: null },
    }),
  );
  await frame.getByRole('button', { name: 'Encrypted' }).click();
  await expect(frame.getByTestId('failure')).toHaveAttribute('data-tone', 'vault-locked');
  await expect(frame.getByTestId('failure')).toContainText('never type your recovery words into a web page');
});

test("a page running the server's own E2EE code gets a warning in the folder view", async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'seeds the stand-in');
  await seedAndUnlock(device, server);
  const page = await openFiles(device, server);
  // What the official app's in-browser mode puts on the page (its initial state).
  await page.evaluate(() => {
    const i = document.createElement('input');
    i.type = 'hidden';
    i.id = 'initial-state-end_to_end_encryption-userConfig';
    i.value = 'e30=';
    document.body.appendChild(i);
  });
  await page.locator('[data-cy-files-list-row-name="Encrypted"] a').click();
  const frame = await folderFrame(page);
  await expect(frame.getByTestId('server-e2ee-warning')).toContainText('Never type your recovery words into');
});

test('a folder of 1,200 files keeps only the rows in view in the DOM and still navigates to the last', async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'seeds the stand-in');
  const { NextcloudClient } = await import('../../lib/nextcloud');
  const { E2eeSession } = await import('../../lib/engine/folders');
  const { MemoryTrustStore } = await import('../../lib/engine/trust-store');
  const { uploadFiles } = await import('../../lib/engine/ops');
  const { unlockWithWords } = await import('../../lib/engine/keys');
  const seed = await seedAndUnlock(device, server);
  const client = new NextcloudClient({
    baseUrl: server.url,
    auth: { loginName: 'alice', appPassword: server.control!.createAppPassword('alice') },
    userId: 'alice',
  });
  const s = new E2eeSession(client, await unlockWithWords(client, seed.words.alice!), new MemoryTrustStore());
  const ref = await s.createRoot('/', 'Many');
  await uploadFiles(
    s,
    await s.open(ref.path),
    Array.from({ length: 1200 }, (_, i) => {
      const body = new TextEncoder().encode(`file ${i}`);
      return {
        name: `item ${String(i).padStart(4, '0')}.txt`,
        size: body.length,
        stream: () => new Blob([body]).stream(),
      };
    }),
  );

  const page = await openFiles(device, server);
  await page.locator('[data-cy-files-list-row-name="Many"] a').click();
  const frame = await folderFrame(page);
  const list = frame.getByTestId('file-list');
  await expect(frame.getByTestId('list-footer')).toContainText('1200 files');
  await expect(list).toHaveAttribute('data-windowed', 'true');
  await expect(row(frame, 'item 0000.txt')).toBeVisible();
  const inDom = await frame.locator('.row[data-name]').count();
  expect(inDom).toBeGreaterThan(10);
  expect(inDom).toBeLessThan(200);
  // Keyboard: End reaches the last file, which is then drawn and focused.
  await list.focus();
  await list.press('End');
  await expect(row(frame, 'item 1199.txt')).toBeVisible();
  await expect(row(frame, 'item 1199.txt')).toHaveClass(/focused/);
  await expect(row(frame, 'item 0000.txt')).toHaveCount(0);
  await list.press('Home');
  await expect(row(frame, 'item 0000.txt')).toBeVisible();
  // Filter-as-you-type over all 1,200, not just the drawn ones.
  await frame.getByRole('searchbox').fill('1187');
  await expect(frame.locator('.row[data-name]')).toHaveCount(1);
  await expect(row(frame, 'item 1187.txt')).toBeVisible();
});
