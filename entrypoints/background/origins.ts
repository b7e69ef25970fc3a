/**
 * Connected server origins: the allow-list behind the sender preflight and the runtime content-script
 * registration. Stored in `storage.local`; the engine will manage it through `origins/*` once accounts
 * exist (the connect flow calls `origins/connect` after the user granted the host permission).
 */
import { browser } from 'wxt/browser';
import { fail } from '@/lib/errors';
import { arrayOf, isServerOrigin, matchPatternFor } from '@/lib/messages';

const KEY = 'cipherfold.connectedOrigins';
const SCRIPT_PREFIX = 'cf-content-';
const CONTENT_SCRIPT_FILE = 'content-scripts/content.js';
const isOriginList = arrayOf(isServerOrigin, 64);

export async function getConnectedOrigins(): Promise<string[]> {
  const got: Record<string, unknown> = await browser.storage.local.get(KEY);
  const value = got[KEY];
  return isOriginList(value) ? value : [];
}

async function setConnectedOrigins(origins: string[]): Promise<void> {
  await browser.storage.local.set({ [KEY]: [...new Set(origins)].sort() });
}

/**
 * One registration per host pattern (patterns cannot name a port, so two servers on one host share it).
 * Registered-script ids may not start with '_' and must be unique.
 */
function scriptId(origin: string): string {
  return SCRIPT_PREFIX + matchPatternFor(origin).replace(/[^A-Za-z0-9]/g, '_');
}

export async function hasHostPermission(origin: string): Promise<boolean> {
  return browser.permissions.contains({ origins: [matchPatternFor(origin)] });
}

/** Registers the content script for exactly this server (its host pattern; the port is re-checked by the preflight). */
export async function registerOriginContentScript(origin: string): Promise<void> {
  if (!(await hasHostPermission(origin))) {
    throw fail(
      'permission',
      'Cipherfold does not have access to this server. The permission was not granted or was removed. Connect the server again and allow access.',
    );
  }
  const id = scriptId(origin);
  const existing = await browser.scripting.getRegisteredContentScripts({ ids: [id] });
  if (existing.length > 0) return;
  await browser.scripting.registerContentScripts([
    {
      id,
      matches: [matchPatternFor(origin)],
      js: [CONTENT_SCRIPT_FILE],
      runAt: 'document_idle',
      allFrames: false,
      persistAcrossSessions: true,
    },
  ]);
}

export async function unregisterOriginContentScript(origin: string): Promise<void> {
  const id = scriptId(origin);
  const existing = await browser.scripting.getRegisteredContentScripts({ ids: [id] });
  if (existing.length > 0) await browser.scripting.unregisterContentScripts({ ids: [id] });
}

export async function connectOrigin(origin: string): Promise<string[]> {
  await registerOriginContentScript(origin);
  const origins = await getConnectedOrigins();
  if (!origins.includes(origin)) await setConnectedOrigins([...origins, origin]);
  return getConnectedOrigins();
}

export async function disconnectOrigin(origin: string): Promise<string[]> {
  const rest = (await getConnectedOrigins()).filter((o) => o !== origin);
  await setConnectedOrigins(rest);
  if (!rest.some((o) => scriptId(o) === scriptId(origin))) await unregisterOriginContentScript(origin);
  return getConnectedOrigins();
}

/**
 * Brings registrations in line with the stored list (on startup/install): drops origins whose permission
 * is gone, registers missing scripts, removes scripts for origins that are no longer connected.
 */
export async function syncRegistrations(): Promise<void> {
  const origins = await getConnectedOrigins();
  const keep: string[] = [];
  for (const origin of origins) {
    if (await hasHostPermission(origin)) {
      keep.push(origin);
      await registerOriginContentScript(origin);
    }
  }
  if (keep.length !== origins.length) await setConnectedOrigins(keep);
  const wanted = new Set(keep.map(scriptId));
  const registered = await browser.scripting.getRegisteredContentScripts();
  const stale = registered.map((s) => s.id).filter((id) => id.startsWith(SCRIPT_PREFIX) && !wanted.has(id));
  if (stale.length > 0) await browser.scripting.unregisterContentScripts({ ids: stale });
}
