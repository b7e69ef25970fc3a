/**
 * Accounts, part 1: connect with Login Flow v2 (driving the stand-in's pages in the opened tab), connect
 * errors, first-device setup with word confirmation, the popup at a glance, the printable sheet.
 */
import { expect, test } from './fixtures';
import { accounts, connectWithLoginFlow, ui } from './accounts-helpers';

test('connect with Login Flow v2, set up the first device, confirm three words', async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'drives the stand-in login pages');
  const page = await connectWithLoginFlow(device, server, 'alice', 'alice-password');
  await expect(page.getByTestId('connected')).toContainText('alice');
  expect(await ui(page, 'origins/list')).toEqual({ origins: [server.url] });
  // The login tab is closed again after the grant.
  await expect.poll(() => device.context.pages().some((p) => p.url().includes('/login/v2/'))).toBe(false);

  await page.getByRole('link', { name: 'Set up encryption' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Set up end-to-end encryption');
  await page.getByRole('radio', { name: 'Purple' }).click();
  await page.getByRole('radio', { name: 'Moon' }).click();
  await page.getByRole('button', { name: 'Create my encryption keys' }).click();
  await expect(page.getByTestId('recovery-words')).toBeVisible({ timeout: 20_000 });
  const words = await page.locator('[data-testid^="word-"]').allTextContents();
  expect(words).toHaveLength(12);
  // The words are already safe in the engine: the popup says "confirm your words", not "set up".
  expect((await accounts(page))[0]).toMatchObject({ state: 'unlocked', wordsPending: true });
  await expect(page.locator('header [data-testid="security-mark"]')).toHaveAttribute(
    'data-mark',
    'purple-moon',
  );

  // The printable sheet (only while the words are unconfirmed).
  const sheetTab = device.context.waitForEvent('page');
  await page.getByRole('button', { name: 'Print recovery sheet' }).click();
  const sheet = await sheetTab;
  await expect(sheet.getByTestId('recovery-sheet')).toBeVisible();
  expect(
    await sheet.getByTestId('recovery-sheet').locator('[data-testid^="word-"]').allTextContents(),
  ).toEqual(words);
  await sheet.emulateMedia({ media: 'print' });
  await expect(sheet.getByRole('button', { name: 'Print' })).toBeHidden();
  await sheet.close();

  await page.getByRole('button', { name: 'I have written them down' }).click();
  const fields = page.locator('[data-testid^="confirm-word-"]');
  await expect(fields).toHaveCount(3);
  const ids = await fields.evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!));
  // A wrong word first.
  await fields.nth(0).fill('wrongword');
  for (let k = 1; k < 3; k++) await fields.nth(k).fill(words[Number(ids[k]!.split('-').pop()) - 1]!);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('confirm-error')).toContainText("doesn't match");
  for (let k = 0; k < 3; k++) await fields.nth(k).fill(words[Number(ids[k]!.split('-').pop()) - 1]!);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('setup-done')).toBeVisible();
  expect((await accounts(page))[0]).toMatchObject({
    state: 'unlocked',
    wordsPending: false,
    mode: 'session',
  });

  // The popup: unlocked, account with initials and server, the security mark in the header.
  const popup = await device.openExtensionPage('popup.html');
  await expect(popup.getByTestId('status-title')).toHaveText('Unlocked');
  await expect(popup.getByTestId('account-row')).toContainText('Alice');
  await expect(popup.getByTestId('account-row')).toContainText(new URL(server.url).host);
  await expect(popup.locator('header [data-testid="security-mark"]')).toHaveAttribute(
    'data-mark',
    'purple-moon',
  );
  await expect(popup.getByRole('button', { name: 'Lock now' })).toBeVisible();
});

test('connect explains a server that is not a Nextcloud, an unreachable one, and cancel', async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'uses stand-in paths');
  const page = await device.openExtensionPage('connect.html');
  await page.getByLabel('Server address').fill(`${server.url}/not-nextcloud`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByTestId('connect-error')).toContainText('does not look like a Nextcloud server');
  await page.getByLabel('Server address').fill('http://127.0.0.1:9');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByTestId('connect-error')).toContainText('could not be reached');

  // Cancel while waiting for the sign-in: nothing stored.
  await page.getByLabel('Server address').fill(server.url);
  const loginTab = device.context.waitForEvent('page');
  await page.getByRole('button', { name: 'Continue' }).click();
  await loginTab;
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByLabel('Server address')).toBeVisible();
  expect(await accounts(page)).toEqual([]);

  // End-to-end encryption missing for the user (manual form, capabilities without the app).
  const rule = server.control!.forceStatus({
    method: 'GET',
    path: /\/cloud\/capabilities/,
    status: 200,
    body: JSON.stringify({ ocs: { meta: { status: 'ok', statuscode: 200 }, data: { capabilities: {} } } }),
    headers: { 'content-type': 'application/json' },
  });
  await page.getByRole('button', { name: 'Use login name and app password instead' }).click();
  await page.getByLabel('Login name').fill('bob');
  await page.getByLabel('App password').fill('bob-password');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByTestId('connect-error')).toContainText('"End-to-end encryption" app is missing');
  server.control!.clearRule(rule);
  expect(await accounts(page)).toEqual([]);
});
