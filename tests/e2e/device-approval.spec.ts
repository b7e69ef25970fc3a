/**
 * Device approval in two browser profiles against the stand-in (docs/device-approval.md): the new device
 * asks from approve.html, the unlocked one answers from its toolbar popup (badge, code, approve / reject).
 * Approved, rejected, expired, and a server that swaps the new device's key (full man in the middle):
 * the two screens then show different codes and nothing is sent.
 */
import { createHash, webcrypto } from 'node:crypto';
import type { Locator, Page } from '@playwright/test';
import { toBase64 } from '../../lib/crypto/bytes';
import { accounts, connectByMessage, ui } from './accounts-helpers';
import { expect, test, type Device, type TestServer } from './fixtures';

test.describe.configure({ timeout: 120_000 });

interface Pair {
  trusted: Page;
  trustedId: string;
  other: Device;
  fresh: Page;
  freshId: string;
}

/** Device 1 sets up encryption and stays unlocked; device 2 (a new profile) connects the same account. */
async function pair(device: Device, server: TestServer, openDevice: () => Promise<Device>): Promise<Pair> {
  const trusted = await device.openExtensionPage('options.html');
  const trustedId = await connectByMessage(trusted, server, 'alice', 'alice-password');
  await ui(trusted, 'accounts/setup-first', {
    accountId: trustedId,
    mark: { colour: 'green', symbol: 'leaf' },
  });
  await ui(trusted, 'accounts/confirm-words', { accountId: trustedId, mode: 'session' });
  const other = await openDevice();
  const fresh = await other.openExtensionPage('options.html');
  const freshId = await connectByMessage(fresh, server, 'alice', server.control!.createAppPassword('alice'));
  expect((await accounts(fresh))[0]).toMatchObject({ state: 'needs-keys' });
  return { trusted, trustedId, other, fresh, freshId };
}

async function badge(device: Device): Promise<string> {
  return device.serviceWorker.evaluate(() => chrome.action.getBadgeText({}));
}

/** The trusted device's popup, once it lists the request from the device called `name`. */
async function requestInPopup(device: Device, name: string): Promise<{ popup: Page; row: Locator }> {
  const popup = await device.openExtensionPage('popup.html');
  const row = popup.getByTestId('approval');
  await expect(row.getByTestId('approval-name')).toHaveText(name, { timeout: 15_000 });
  return { popup, row };
}

/** After Review: the codes both devices show, once both are there. */
async function codesShown(p: Pair, row: Locator): Promise<{ trusted: string | null; fresh: string | null }> {
  await expect(row.getByTestId('approval-code')).toHaveText(/^\d{3} \d{3}$/, { timeout: 15_000 });
  await expect(p.fresh.getByTestId('approve-code')).toHaveText(/^\d{3} \d{3}$/, { timeout: 15_000 });
  return {
    trusted: await row.getByTestId('approval-code').textContent(),
    fresh: await p.fresh.getByTestId('approve-code').textContent(),
  };
}

/** The new device opens the approval page (from the unlock page's link) and sends a request. */
async function askFromNewDevice(p: Pair, name: string): Promise<void> {
  await p.fresh.goto(p.other.extensionUrl(`unlock.html?account=${encodeURIComponent(p.freshId)}`));
  await p.fresh.getByTestId('approve-instead').click();
  await expect(p.fresh.getByRole('heading', { level: 1 })).toHaveText('Approve from another device');
  await p.fresh.getByTestId('device-name').fill(name);
  await p.fresh.getByTestId('approve-start').click();
  await expect(p.fresh.getByTestId('approve-page')).toHaveAttribute('data-step', 'waiting-for-answer');
}

test('a new profile is approved from the popup of an unlocked one', async ({
  device,
  server,
  openDevice,
}) => {
  test.skip(server.kind !== 'stand-in', 'needs app passwords from the stand-in');
  const p = await pair(device, server, openDevice);
  await askFromNewDevice(p, 'Test laptop');

  // The trusted device's popup lists it (the engine also sets the toolbar badge).
  const { row } = await requestInPopup(device, 'Test laptop');
  await expect.poll(() => badge(device), { timeout: 10_000 }).toBe('1');
  const requestId = await row.getAttribute('data-request-id');
  expect(requestId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  await row.getByTestId('approval-review').click();

  // Both screens show the same code.
  const codes = await codesShown(p, row);
  expect(codes.fresh).toBe(codes.trusted);

  await p.fresh.getByTestId('approve-codes-match').click();
  await expect(p.fresh.getByTestId('approve-waiting-other')).toBeVisible();
  await row.getByTestId('approval-approve').click();
  await expect(row.getByTestId('approval-result')).toContainText('Approved');

  // The new device unlocks with what it received (the words never reach the page).
  await expect(p.fresh.getByTestId('approve-done')).toBeVisible({ timeout: 30_000 });
  expect((await accounts(p.fresh))[0]).toMatchObject({ state: 'unlocked' });
  await expect.poll(() => badge(device), { timeout: 10_000 }).toBe('');

  // Single use, cleaned up: the relay files of this request are gone from the user's storage.
  for (const kind of ['req', 'ans', 'rev', 'apv'])
    expect(
      server.control!.fileIdOf('alice', `/.cipherfold/devices/${kind}-${requestId}.json`),
    ).toBeUndefined();
  await expect(ui(p.trusted, 'devices/answer', { accountId: p.trustedId, requestId })).rejects.toThrow();

  // Both device lists show the new device; forgetting it says honestly what it cannot undo.
  const optionsT = await device.openExtensionPage('options.html');
  const listed = optionsT.getByTestId('device-row').filter({ hasText: 'Test laptop' });
  await expect(listed).toBeVisible();
  await listed.getByTestId('device-forget').click();
  await expect(listed).toContainText('until you reset your encryption keys');
  await listed.getByTestId('device-forget-confirm').click();
  await expect(listed).toHaveAttribute('data-forgotten', 'true');
  const optionsN = await p.other.openExtensionPage('options.html');
  await expect(optionsN.getByTestId('device-row').filter({ hasText: 'this device' })).toContainText(
    'Test laptop',
  );
});

test('a rejected request leaves the new device locked and says so', async ({
  device,
  server,
  openDevice,
}) => {
  test.skip(server.kind !== 'stand-in', 'needs app passwords from the stand-in');
  const p = await pair(device, server, openDevice);
  await askFromNewDevice(p, 'Unknown tablet');
  const { popup, row } = await requestInPopup(device, 'Unknown tablet');
  await row.getByTestId('approval-reject').click();

  await expect(p.fresh.getByTestId('approve-page')).toHaveAttribute('data-step', 'rejected', {
    timeout: 15_000,
  });
  await expect(p.fresh.getByTestId('approve-message')).toContainText('declined');
  expect((await accounts(p.fresh))[0]).toMatchObject({ state: 'needs-keys' });
  await expect(popup.getByTestId('approval-review')).toHaveCount(0);
  await expect.poll(() => badge(device), { timeout: 10_000 }).toBe('');
});

test('an expired request cannot be answered', async ({ device, server, openDevice }) => {
  test.skip(server.kind !== 'stand-in', 'needs app passwords from the stand-in');
  const p = await pair(device, server, openDevice);
  // A 3-second request (the page always asks for the full 10 minutes; the command allows shorter).
  const started = await ui<{ requestId: string; step: string }>(p.fresh, 'devices/request-start', {
    accountId: p.freshId,
    name: 'Slow phone',
    browser: 'Chromium',
    mode: 'session',
    mark: { colour: 'orange', symbol: 'star' },
    ttlSeconds: 3,
  });
  expect(started.step).toBe('waiting-for-answer');
  // The approval page picks up the running request and then shows that it expired.
  await p.fresh.goto(p.other.extensionUrl(`approve.html?account=${encodeURIComponent(p.freshId)}`));
  await expect(p.fresh.getByTestId('approve-page')).toHaveAttribute('data-step', 'expired', {
    timeout: 15_000,
  });
  await expect(p.fresh.getByTestId('approve-message')).toContainText('expired');

  const pending = await ui<{ requests: { requestId: string }[] }>(p.trusted, 'devices/pending', {
    refresh: true,
  });
  expect(pending.requests.map((r) => r.requestId)).not.toContain(started.requestId);
  await expect(
    ui(p.trusted, 'devices/answer', { accountId: p.trustedId, requestId: started.requestId }),
  ).rejects.toThrow(/devices\/answer: /);
  expect((await accounts(p.fresh))[0]).toMatchObject({ state: 'needs-keys' });
});

test('a server that swaps the new device key is caught by the code comparison', async ({
  device,
  server,
  openDevice,
}) => {
  test.skip(server.kind !== 'stand-in', 'needs the stand-in to rewrite uploads');
  const p = await pair(device, server, openDevice);

  // The server's own key pair and nonce; it commits to them in the request and reveals them to the
  // trusted device instead of the new device's key (a full man in the middle: the commitment checks out).
  const attacker = await webcrypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
    'deriveBits',
  ]);
  const pubM = new Uint8Array(await webcrypto.subtle.exportKey('raw', attacker.publicKey));
  const nonceM = webcrypto.getRandomValues(new Uint8Array(32));
  const commitM = createHash('sha256').update(pubM).update(nonceM).digest();
  const edit = (fn: (o: Record<string, unknown>) => void) => (body: Buffer) => {
    const o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    fn(o);
    return Buffer.from(JSON.stringify(o));
  };
  let swapped = 0;
  server.control!.rewriteUploads(
    /\/req-[A-Za-z0-9_-]{22}\.json$/,
    edit((o) => ((o.commitment = toBase64(commitM)), swapped++)),
  );
  server.control!.rewriteUploads(
    /\/rev-[A-Za-z0-9_-]{22}\.json$/,
    edit((o) => ((o.publicKey = toBase64(pubM)), (o.nonce = toBase64(nonceM)), swapped++)),
  );

  await askFromNewDevice(p, 'Test laptop');
  const { row } = await requestInPopup(device, 'Test laptop');
  await row.getByTestId('approval-review').click();
  const codes = await codesShown(p, row);
  expect(swapped).toBe(2);
  // 1 in 10^6 that a substituted key yields the same code; a flake here would itself be a finding.
  expect(codes.fresh).not.toBe(codes.trusted);

  // The user sees the codes differ and says so on the trusted device: nothing is sent.
  await row.getByTestId('approval-differ').click();
  await expect(row.getByTestId('approval-result')).toBeVisible();
  await expect(p.fresh.getByTestId('approve-page')).toHaveAttribute('data-step', 'rejected', {
    timeout: 15_000,
  });
  await expect(p.fresh.getByTestId('approve-message')).toContainText('did not match');
  expect((await accounts(p.fresh))[0]).toMatchObject({ state: 'needs-keys' });
  const requestId = await row.getAttribute('data-request-id');
  expect(server.control!.fileIdOf('alice', `/.cipherfold/devices/apv-${requestId}.json`)).toBeUndefined();
});
