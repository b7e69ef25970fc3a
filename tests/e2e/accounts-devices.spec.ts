/**
 * Accounts, part 2: a second browser profile adds itself with the recovery words (wrong words → the
 * error; the whole phrase pasted, numbered), and unlock times in Chromium for each KDF variant of the
 * server's key blob (printed, not asserted: performance numbers belong to bench/).
 */
import { gcmEncrypt } from '../../lib/crypto/aes-gcm';
import { randomBytes, toBase64, utf8 } from '../../lib/crypto/bytes';
import { pbkdf2 } from '../../lib/crypto/kdf';
import { generateMnemonic, mnemonicKdfPassword } from '../../lib/crypto/mnemonic';
import { pemEncode } from '../../lib/crypto/pem';
import { generateRsaKeyPair } from '../../lib/crypto/rsa';
import { NextcloudClient } from '../../lib/nextcloud';
import { createCsr } from '../../lib/protocol/csr';
import { expect, test, type TestServer } from './fixtures';
import { accounts, connectByMessage, pasteInto, typeWords, ui } from './accounts-helpers';

test('a second device adds itself with the recovery words', async ({ device, server, openDevice }) => {
  test.skip(server.kind !== 'stand-in', 'needs app passwords from the stand-in');
  // Device 1 sets up encryption (through the engine commands the setup page uses).
  const first = await device.openExtensionPage('options.html');
  const id1 = await connectByMessage(first, server, 'alice', 'alice-password');
  const { words } = await ui<{ words: string[] }>(first, 'accounts/setup-first', {
    accountId: id1,
    mark: { colour: 'green', symbol: 'leaf' },
  });
  await ui(first, 'accounts/confirm-words', { accountId: id1, mode: 'session' });

  // Device 2: a fresh profile connects with the manual form and opens the unlock page.
  const other = await openDevice();
  const connect = await other.openExtensionPage('connect.html');
  await connect.getByRole('button', { name: 'Use login name and app password instead' }).click();
  await connect.getByLabel('Server address').fill(server.url);
  await connect.getByLabel('Login name').fill('alice');
  await connect.getByLabel('App password').fill(server.control!.createAppPassword('alice'));
  await connect.getByRole('button', { name: 'Continue' }).click();
  await expect(connect.getByTestId('connected')).toBeVisible();
  await connect.getByRole('link', { name: 'Add this device with your recovery words' }).click();
  await expect(connect.getByRole('heading', { level: 1 })).toHaveText('Add this device');

  // Wrong words (valid list words, wrong phrase) → the clear error, nothing stored.
  const wrong = [...words.slice(0, 11), words[11] === 'zoo' ? 'abandon' : 'zoo'];
  await typeWords(connect, wrong);
  await connect.getByRole('radio', { name: 'Orange' }).click();
  await connect.getByRole('button', { name: 'Unlock' }).click();
  await expect(connect.getByTestId('unlock-error')).toContainText("These words don't open your key", {
    timeout: 20_000,
  });
  expect((await accounts(connect))[0]).toMatchObject({ state: 'needs-keys' });

  // The whole phrase pasted as a numbered list, mixed case, into the first field.
  const phrase = words.map((w, i) => `${i + 1}. ${i % 3 === 0 ? w.toUpperCase() : w}`).join('\n');
  await pasteInto(connect, 'word-input-1', phrase);
  for (let i = 0; i < 12; i++)
    await expect(connect.getByTestId(`word-input-${i + 1}`)).toHaveValue(words[i]!);
  await connect.getByRole('button', { name: 'Unlock' }).click();
  await expect(connect.getByTestId('unlock-done')).toBeVisible({ timeout: 20_000 });
  expect((await accounts(connect))[0]).toMatchObject({
    state: 'unlocked',
    mark: { colour: 'orange' },
    mode: 'session',
  });
  await expect(connect.locator('header [data-testid="security-mark"]')).toHaveAttribute(
    'data-mark',
    /^orange-/,
  );
  const popup = await other.openExtensionPage('popup.html');
  await expect(popup.getByTestId('status-title')).toHaveText('Unlocked');
});

async function keysWithKdf(server: TestServer, user: string, hash: 'SHA-256' | 'SHA-1', iterations: number) {
  const client = new NextcloudClient({
    baseUrl: server.url,
    auth: { loginName: user, appPassword: server.control!.createAppPassword(user) },
    userId: user,
  });
  const { privateKey, publicSpki } = await generateRsaKeyPair();
  await client.e2ee.createPublicKey(await createCsr(privateKey, publicSpki, user));
  const words = generateMnemonic();
  const salt = randomBytes(40);
  const iv = randomBytes(12);
  const key = await pbkdf2(mnemonicKdfPassword(words), salt, iterations, hash, 32);
  const ct = await gcmEncrypt(key, iv, utf8(toBase64(utf8(pemEncode('PRIVATE KEY', privateKey.pkcs8)))));
  await client.e2ee.storePrivateKey(`${toBase64(ct)}|${toBase64(iv)}|${toBase64(salt)}`);
  return words;
}

test('unlock works with every KDF variant of the key blob (times printed)', async ({ device, server }) => {
  test.skip(server.kind !== 'stand-in', 'writes legacy key blobs on the stand-in');
  const variants = [
    ['alice', 'SHA-256', 600_000],
    ['bob', 'SHA-1', 1024],
    ['carol', 'SHA-1', 600_000],
  ] as const;
  const page = await device.openExtensionPage('options.html');
  const lines: string[] = [];
  for (const [user, hash, iterations] of variants) {
    const words = await keysWithKdf(server, user, hash, iterations);
    const id = await connectByMessage(page, server, user, `${user}-password`);
    const wrong = [...words.slice(0, 11), words[11] === 'zoo' ? 'abandon' : 'zoo'];
    const t0 = Date.now();
    await expect(
      ui(page, 'accounts/unlock-words', { accountId: id, words: wrong, mode: null, mark: null }),
    ).rejects.toThrow(/mnemonic: These words don't open your key/);
    const wrongMs = Date.now() - t0;
    const r = await ui<{ kdf: string; ms: number }>(page, 'accounts/unlock-words', {
      accountId: id,
      words,
      mode: null,
      mark: null,
    });
    expect(r.kdf).toBe(`${hash}/${iterations}`);
    await ui(page, 'accounts/lock', { accountId: id });
    const t1 = Date.now();
    await ui(page, 'accounts/unlock-words', { accountId: id, words, mode: null, mark: null });
    const localMs = Date.now() - t1;
    lines.push(
      `${hash}/${iterations}: add device ${r.ms} ms (engine), wrong words ${wrongMs} ms, unlock from vault ${localMs} ms (round trip)`,
    );
  }
  test
    .info()
    .annotations.push({ type: 'unlock times (Chromium, offscreen engine)', description: lines.join('; ') });
  console.log(lines.join('\n'));
});
