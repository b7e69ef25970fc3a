/**
 * Accounts, part 3: Lock now / unlock by typing (autocomplete), idle auto-lock (short time set through
 * the setting), engine restart (offscreen document closed: "this session only" locks, "remember" comes
 * back unlocked, an explicit lock survives), reveal words in Settings after the password, disconnect.
 */
import { expect, test } from './fixtures';
import { accounts, connectByMessage, keysOnServer, typeWords, ui } from './accounts-helpers';

test('lock now, unlock with autocomplete, idle auto-lock, engine restart', async ({
  device,
  server,
  serviceWorker,
}) => {
  test.skip(server.kind !== 'stand-in', 'needs app passwords from the stand-in');
  const words = await keysOnServer(server, 'alice');
  const page = await device.openExtensionPage('options.html');
  const id = await connectByMessage(page, server, 'alice', 'alice-password');
  await ui(page, 'accounts/unlock-words', {
    accountId: id,
    words,
    mode: 'session',
    mark: { colour: 'red', symbol: 'bell' },
  });

  // Popup: Lock now.
  const popup = await device.openExtensionPage('popup.html');
  await expect(popup.getByTestId('status-title')).toHaveText('Unlocked');
  await popup.getByRole('button', { name: 'Lock now' }).click();
  await expect(popup.getByTestId('status-title')).toHaveText('Locked');
  await expect(popup.getByRole('button', { name: 'Unlock' })).toBeVisible();

  // Unlock page: type four letters per word, Tab accepts the suggestion.
  const unlock = await device.openExtensionPage(`unlock.html?account=${encodeURIComponent(id)}`);
  await expect(unlock.getByRole('heading', { level: 1 })).toHaveText('Unlock Cipherfold');
  await typeWords(unlock, words);
  await unlock.getByRole('button', { name: 'Unlock' }).click();
  await expect(unlock.getByTestId('unlock-done')).toBeVisible();

  // Idle auto-lock: 3 s through the setting; activity-free → locked.
  await ui(page, 'accounts/set-auto-lock', { accountId: id, seconds: 3 });
  expect(await ui(page, 'accounts/settings', { accountId: id })).toMatchObject({ autoLockSeconds: 3 });
  await expect.poll(async () => (await accounts(page))[0]!.state, { timeout: 8000 }).toBe('locked');
  await ui(page, 'accounts/set-auto-lock', { accountId: id, seconds: 0 });

  // Engine restart with "this session only": locked afterwards; the vault still opens with the words.
  await ui(page, 'accounts/unlock-words', { accountId: id, words, mode: 'session', mark: null });
  await serviceWorker.evaluate(() => chrome.offscreen.closeDocument());
  expect((await accounts(page))[0]).toMatchObject({
    state: 'locked',
    mode: 'session',
    mark: { colour: 'red' },
  });
  const again = await ui<{ kdf: string }>(page, 'accounts/unlock-words', {
    accountId: id,
    words,
    mode: 'remember',
    mark: null,
  });
  expect(again.kdf).toMatch(/^vault/); // from the key kept in this profile, no server round trip for the key

  // "Remember on this device": unlocked again after the restart …
  await serviceWorker.evaluate(() => chrome.offscreen.closeDocument());
  expect((await accounts(page))[0]).toMatchObject({ state: 'unlocked', mode: 'remember' });
  // … unless it was locked explicitly; then one click unlocks without the words.
  await ui(page, 'accounts/lock', { accountId: null });
  await serviceWorker.evaluate(() => chrome.offscreen.closeDocument());
  expect((await accounts(page))[0]!.state).toBe('locked');
  const unlock2 = await device.openExtensionPage(`unlock.html?account=${encodeURIComponent(id)}`);
  await unlock2.getByTestId('unlock-stored').click();
  await expect(unlock2.getByTestId('unlock-done')).toBeVisible();
  expect((await accounts(page))[0]!.state).toBe('unlocked');
});

test('settings: reveal the words after the password, then disconnect and revoke', async ({
  device,
  server,
}) => {
  test.skip(server.kind !== 'stand-in', 'needs app passwords from the stand-in');
  const words = await keysOnServer(server, 'bob');
  const setup = await device.openExtensionPage('popup.html');
  const id = await connectByMessage(setup, server, 'bob', 'bob-password');
  await ui(setup, 'accounts/unlock-words', {
    accountId: id,
    words,
    mode: 'session',
    mark: { colour: 'blue', symbol: 'anchor' },
  });

  const options = await device.openExtensionPage('options.html');
  const card = options.getByTestId('account-card');
  await expect(card.getByTestId('account-state')).toHaveText('Unlocked');
  await expect(options.locator('header [data-testid="security-mark"]')).toHaveAttribute(
    'data-mark',
    'blue-anchor',
  );
  await card.getByRole('button', { name: 'Show recovery words…' }).click();
  await card.getByLabel('Nextcloud password').fill('not-my-password');
  await card.getByRole('button', { name: 'Show recovery words' }).click();
  await expect(card.getByRole('alert')).toContainText('That is not the password of this Nextcloud account');
  await card.getByLabel('Nextcloud password').fill('bob-password');
  await card.getByRole('button', { name: 'Show recovery words' }).click();
  const shown = card.getByTestId('recovery-words').first();
  await expect(shown).toBeVisible();
  expect(await shown.locator('[data-testid^="word-"]').allTextContents()).toEqual(words);
  await card.getByRole('button', { name: 'Hide the words' }).click();

  // Idle setting from the select.
  await card.getByTestId('idle-select').selectOption({ label: '30 minutes' });
  await expect
    .poll(
      async () =>
        (await ui<{ autoLockSeconds: number }>(options, 'accounts/settings', { accountId: id }))
          .autoLockSeconds,
    )
    .toBe(1800);

  // Disconnect, revoking the app password: everything of the account is gone, the origin too.
  const appPasswordsBefore = server.control!.requests.length;
  await card.getByRole('button', { name: 'Disconnect…' }).click();
  await card.getByRole('button', { name: 'Disconnect', exact: true }).click();
  await expect(options.getByText('No Nextcloud account is connected yet.')).toBeVisible();
  expect(await accounts(options)).toEqual([]);
  expect(await ui(options, 'origins/list')).toEqual({ origins: [] });
  const revoked = server
    .control!.requests.slice(appPasswordsBefore)
    .some((r) => r.method === 'DELETE' && r.path.includes('/core/apppassword') && r.status === 200);
  expect(revoked).toBe(true);
});
