/** Layout of the folder view inside the Files page (light and dark); screenshots kept as test artifacts. */
import { expect, test } from './fixtures';
import { folderFrame, openFiles, row, seedAndUnlock } from './folder-helpers';

test.describe.configure({ timeout: 120_000 });

test('the folder view looks like the Files list (rows, columns, icons) in light and dark', async ({
  device,
  server,
}, testInfo) => {
  test.skip(server.kind !== 'stand-in', 'seeds the stand-in');
  await seedAndUnlock(device, server);
  const page = await openFiles(device, server);
  await page.setViewportSize({ width: 1280, height: 760 });
  await page.locator('[data-cy-files-list-row-name="Encrypted"] a').click();
  const frame = await folderFrame(page);
  await expect(row(frame, 'lock.png')).toBeVisible();
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(200);
    const r = await row(frame, 'Read me.md').boundingBox();
    expect(r?.height).toBe(50); // Nextcloud-like row height
    const bg = await frame.locator('.folder-view').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(bg).toBe(scheme === 'light' ? 'rgb(255, 255, 255)' : 'rgb(23, 23, 23)');
    await expect(row(frame, 'Projects').locator('svg.icon')).toBeVisible();
    await expect(frame.getByRole('columnheader', { name: /Modified/ })).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath(`folder-view-${scheme}.png`) });
  }
});
