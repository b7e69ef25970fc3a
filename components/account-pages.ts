/** Helpers shared by the account pages (connect, setup, unlock, recovery sheet, options, popup). */
import { browser } from 'wxt/browser';
import type { AccountSummary, MarkChoice, Reply } from '@/lib/messages';
import { uiCall } from './ui-client';

export type AccountPage =
  | 'setup.html'
  | 'unlock.html'
  | 'approve.html'
  | 'recovery-sheet.html'
  | 'connect.html'
  | 'options.html';

export function pageUrl(page: AccountPage, accountId?: string): string {
  const q = accountId === undefined ? '' : `?account=${encodeURIComponent(accountId)}`;
  return browser.runtime.getURL(`/${page}${q}` as '/connect.html');
}

/** Opens an account page in a new tab. */
export async function openPage(page: AccountPage, accountId?: string): Promise<void> {
  await browser.tabs.create({ url: pageUrl(page, accountId) });
}

export function accountParam(): string | null {
  return new URLSearchParams(location.search).get('account');
}

/** The page's account (`?account=`, else the first) and this device's security mark, from one status call. */
export async function loadAccount(
  accountId: string | null,
): Promise<{ account: AccountSummary | null; deviceMark: MarkChoice | null }> {
  const r = await uiCall('engine/status', {});
  if (!r.ok) throw new Error(r.error.message);
  const list = r.result.accounts;
  const account = (accountId === null ? list[0] : list.find((a) => a.accountId === accountId)) ?? null;
  return { account, deviceMark: list.find((a) => a.mark)?.mark ?? null };
}

export async function findAccount(accountId: string | null): Promise<AccountSummary | null> {
  return (await loadAccount(accountId)).account;
}

/** What an account page shows when its account is not (or no longer) connected. */
export function noAccountBlock(): { name: 'blocked'; title: string; text: string; link: { href: string; label: string } } {
  return {
    name: 'blocked',
    title: 'No account',
    text: 'This account is not connected in Cipherfold. It may have been removed. Connect it first.',
    link: { href: pageUrl('connect.html'), label: 'Connect to your Nextcloud' },
  };
}

/** The result, or throws an Error carrying the (user-safe) message of an error reply. */
export function unwrap<R>(r: Reply<R>): R {
  if (r.ok) return r.result;
  const e = new Error(r.error.message);
  e.name = r.error.kind;
  throw e;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const s = parts.length >= 2 ? parts[0]![0]! + parts[parts.length - 1]![0]! : (parts[0] ?? '?').slice(0, 2);
  return s.toUpperCase();
}

export function markChanged(): void {
  window.dispatchEvent(new Event('cipherfold:mark-changed'));
}
