/** Shared steps for the accounts e2e specs (connect, setup, unlock) against the stand-in. */
import type { Page } from '@playwright/test';
import { setupFirstDevice } from '../../lib/engine/keys';
import { NextcloudClient } from '../../lib/nextcloud';
import { expect, sendFromExtensionPage, type Device, type TestServer } from './fixtures';

export const msg = (cmd: string, payload: unknown = {}) => ({
  channel: 'ui',
  id: `e2e-${Math.random().toString(36).slice(2, 12)}`,
  cmd,
  payload,
});

/** Sends a ui command from an extension page; returns the result or throws with the error text. */
export async function ui<T = unknown>(page: Page, cmd: string, payload: unknown = {}): Promise<T> {
  const r = (await sendFromExtensionPage(page, msg(cmd, payload))) as {
    ok: boolean;
    result?: T;
    error?: { kind: string; message: string };
  };
  if (!r.ok) throw new Error(`${cmd}: ${r.error?.kind}: ${r.error?.message}`);
  return r.result as T;
}

export interface Account {
  accountId: string;
  state: string;
  mode: string;
  wordsPending: boolean;
  mark: { colour: string; symbol: string } | null;
}

export async function accounts(page: Page): Promise<Account[]> {
  return (await ui<{ accounts: Account[] }>(page, 'engine/status')).accounts;
}

/** Creates the user's keys on the server directly (as another client would) and returns the words. */
export async function keysOnServer(server: TestServer, user: string): Promise<string[]> {
  const client = new NextcloudClient({
    baseUrl: server.url,
    auth: { loginName: user, appPassword: server.control!.createAppPassword(user) },
    userId: user,
  });
  return (await setupFirstDevice(client)).words;
}

/** Connect page → Login Flow v2 in the opened tab (stand-in pages) → connected. Leaves `page` on connect.html. */
export async function connectWithLoginFlow(
  device: Device,
  server: TestServer,
  user: string,
  password: string,
) {
  const page = await device.openExtensionPage('connect.html');
  await page.getByLabel('Server address').fill(server.url);
  const loginTab = device.context.waitForEvent('page');
  await page.getByRole('button', { name: 'Continue' }).click();
  const login = await loginTab;
  await expect(page.getByTestId('login-waiting')).toBeVisible();
  await login.locator('#user').fill(user);
  await login.locator('#password').fill(password);
  await login.locator('#submit-login').click();
  await login.locator('#grant').click();
  await expect(page.getByTestId('connected')).toBeVisible({ timeout: 15_000 });
  return page;
}

/** Connects through the message API (manual form path) and registers the origin. */
export async function connectByMessage(page: Page, server: TestServer, user: string, password: string) {
  const { accountId } = await ui<{ accountId: string }>(page, 'accounts/connect-manual', {
    serverUrl: server.url,
    loginName: user,
    appPassword: password,
  });
  await ui(page, 'origins/connect', { origin: server.url });
  return accountId;
}

/** Types each word's first four letters and accepts the suggestion with Tab (BIP-39 words are unique in 4). */
export async function typeWords(page: Page, words: string[]) {
  for (let i = 0; i < 12; i++) {
    await page.getByTestId(`word-input-${i + 1}`).click();
    await page.keyboard.type(words[i]!.slice(0, 4));
    await page.keyboard.press('Tab');
  }
  for (let i = 0; i < 12; i++) await expect(page.getByTestId(`word-input-${i + 1}`)).toHaveValue(words[i]!);
}

/** Pastes text into word field 1 (as a user pasting the whole phrase). */
export async function pasteInto(page: Page, testId: string, text: string) {
  await page.getByTestId(testId).evaluate((el, t) => {
    const dt = new DataTransfer();
    dt.setData('text/plain', t);
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, text);
}
