/**
 * Playwright fixtures for Cipherfold's built Chrome extension (.output/chrome-mv3).
 *
 *   test('…', async ({ context, serviceWorker, extensionId, extensionUrl, server, openDevice }) => …)
 *
 * - `context`: a persistent Chromium context with the extension loaded (fresh profile per test).
 * - `serviceWorker`, `extensionId`, `extensionUrl('popup.html')`.
 * - `server`: the Nextcloud stand-in (tests/server), started per test, or NEXTCLOUD_URL when set.
 * - `openDevice()`: a second, independent browser profile with the extension ("another device").
 * - `grantOrigin(origin)`: gives the extension host access to a server origin and connects it.
 */
import { test as base, chromium, type BrowserContext, type Page, type Worker } from '@playwright/test';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StandInControl } from '../server';
import { extensionFlags } from './chromium-flags';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type ExtensionPage =
  'popup.html' | 'options.html' | 'sidepanel.html' | 'connect.html' | 'folder-view.html';

export interface ServerAccount {
  user: string;
  password: string;
}

export interface TestServer {
  /** Origin-only base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Default account (alice on the stand-in, NEXTCLOUD_USER otherwise) and, on the stand-in, bob. */
  accounts: ServerAccount[];
  /** Control API of the stand-in; `null` against a real Nextcloud. */
  control: StandInControl | null;
  kind: 'stand-in' | 'nextcloud';
}

export interface Device {
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
  extensionUrl(page: ExtensionPage | string): string;
  /** Opens an extension page in a new tab of this device. */
  openExtensionPage(page: ExtensionPage | string): Promise<Page>;
  close(): Promise<void>;
}

function chromiumExecutable(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  if (fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  return undefined; // Playwright's own Chromium, if installed
}

/**
 * Host patterns the test copy of the extension holds from install: Chromium has no automation hook to
 * accept `permissions.request` (the prompt is browser UI), so the copy declares the test server's host
 * as a required host permission — the state after a user clicked "Allow". The product build stays as is.
 */
export function testHostPatterns(): string[] {
  const patterns = new Set(['http://127.0.0.1/*', 'http://localhost/*']);
  if (process.env.NEXTCLOUD_URL) {
    const u = new URL(process.env.NEXTCLOUD_URL);
    patterns.add(`${u.protocol}//${u.hostname}/*`);
  }
  return [...patterns];
}

/** The product build (`wxt build`). */
export const BUILD_DIR = path.join(ROOT, '.output/chrome-mv3');
/** The copy Chromium loads (stable path, so the extension id is stable). */
export const EXTENSION_DIR = path.join(ROOT, '.output/e2e/chrome-mv3');

let prepared = false;
function prepareExtension(): void {
  if (prepared) return;
  if (!fs.existsSync(path.join(BUILD_DIR, 'manifest.json'))) {
    // `npm run test:e2e` builds first; a bare `npx playwright test` builds once here.
    execSync('npx wxt build', { cwd: ROOT, stdio: 'inherit' });
  }
  fs.rmSync(EXTENSION_DIR, { recursive: true, force: true });
  fs.cpSync(BUILD_DIR, EXTENSION_DIR, { recursive: true });
  const manifestPath = path.join(EXTENSION_DIR, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  manifest.host_permissions = testHostPatterns();
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  prepared = true;
}

/** Launches an independent persistent Chromium profile with the extension loaded. */
export async function launchDevice(): Promise<Device> {
  prepareExtension();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cipherfold-e2e-'));
  const headed = process.env.HEADED === '1';
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumExecutable(),
    headless: !headed,
    args: extensionFlags(EXTENSION_DIR),
  });
  try {
    const serviceWorker =
      context.serviceWorkers().find((w) => w.url().endsWith('/background.js')) ??
      (await context.waitForEvent('serviceworker', { predicate: (w) => w.url().endsWith('/background.js') }));
    const extensionId = new URL(serviceWorker.url()).host;
    const extensionUrl = (page: string) => `chrome-extension://${extensionId}/${page.replace(/^\//, '')}`;
    return {
      context,
      serviceWorker,
      extensionId,
      extensionUrl,
      async openExtensionPage(page) {
        const p = await context.newPage();
        await p.goto(extensionUrl(page));
        return p;
      },
      async close() {
        await context.close().catch(() => undefined);
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await context.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}

/** Starts the stand-in, or describes NEXTCLOUD_URL; `null` (with a reason) when neither is available. */
async function startServer(): Promise<{ server: TestServer; close(): Promise<void> } | { skip: string }> {
  const external = process.env.NEXTCLOUD_URL;
  if (external) {
    const url = new URL(external).origin;
    return {
      server: {
        url,
        accounts: [
          {
            user: process.env.NEXTCLOUD_USER ?? 'alice',
            password: process.env.NEXTCLOUD_PASSWORD ?? 'alice-password',
          },
        ],
        control: null,
        kind: 'nextcloud',
      },
      close: async () => undefined,
    };
  }
  let mod: typeof import('../server');
  try {
    mod = await import('../server');
  } catch (e) {
    return { skip: `tests/server (the Nextcloud stand-in) could not be loaded: ${String(e)}` };
  }
  const standIn = await mod.startStandIn();
  return {
    server: {
      url: standIn.url,
      accounts: [
        { user: 'alice', password: 'alice-password' },
        { user: 'bob', password: 'bob-password' },
      ],
      control: standIn.control,
      kind: 'stand-in',
    },
    close: () => standIn.close(),
  };
}

type Fixtures = {
  device: Device;
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
  extensionUrl: (page: ExtensionPage | string) => string;
  server: TestServer;
  openDevice: () => Promise<Device>;
  grantOrigin: (origin: string, device?: Device) => Promise<void>;
};

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern -- Playwright needs the destructuring
  device: async ({}, use) => {
    const device = await launchDevice();
    try {
      await use(device);
    } finally {
      await device.close();
    }
  },
  context: async ({ device }, use) => use(device.context),
  serviceWorker: async ({ device }, use) => use(device.serviceWorker),
  extensionId: async ({ device }, use) => use(device.extensionId),
  extensionUrl: async ({ device }, use) => use(device.extensionUrl),
  // eslint-disable-next-line no-empty-pattern -- Playwright needs the destructuring
  server: async ({}, use, testInfo) => {
    const started = await startServer();
    if ('skip' in started) {
      testInfo.skip(true, started.skip);
      return;
    }
    try {
      await use(started.server);
    } finally {
      await started.close();
    }
  },
  // eslint-disable-next-line no-empty-pattern -- Playwright needs the destructuring
  openDevice: async ({}, use) => {
    const opened: Device[] = [];
    await use(async () => {
      const d = await launchDevice();
      opened.push(d);
      return d;
    });
    for (const d of opened) await d.close();
  },
  grantOrigin: async ({ device }, use) => {
    await use(async (origin, on = device) => grantOrigin(on, origin));
  },
});

/**
 * Connects a server origin as the connect flow will: the host permission is already held by the test
 * copy (see `testHostPatterns`), so this calls `origins/connect` from an extension page, which registers
 * the content script for that origin and adds it to the preflight allow-list.
 */
export async function grantOrigin(device: Device, origin: string): Promise<void> {
  const page = await device.openExtensionPage('connect.html');
  try {
    const reply: unknown = await page.evaluate(
      (o) =>
        chrome.runtime.sendMessage({
          channel: 'ui',
          id: crypto.randomUUID(),
          cmd: 'origins/connect',
          payload: { origin: o },
        }),
      origin,
    );
    if (typeof reply !== 'object' || reply === null || (reply as { ok?: unknown }).ok !== true) {
      throw new Error(`origins/connect failed: ${JSON.stringify(reply)}`);
    }
  } finally {
    await page.close();
  }
}

/**
 * Evaluates `expression` (a JS expression; may be a promise) inside Cipherfold's content-script world of
 * `page`, through CDP. Waits up to `timeoutMs` for the content script to be injected. Returns the JSON value.
 */
export async function evaluateInContentScript(
  page: Page,
  expression: string,
  timeoutMs = 10_000,
): Promise<unknown> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const worlds: { id: number; name: string; type: unknown }[] = [];
    cdp.on('Runtime.executionContextCreated', (e) =>
      worlds.push({ id: e.context.id, name: e.context.name, type: e.context.auxData?.type }),
    );
    await cdp.send('Runtime.enable');
    const deadline = Date.now() + timeoutMs;
    let world: { id: number } | undefined;
    while (!(world = worlds.find((w) => w.type === 'isolated' && w.name === 'Cipherfold'))) {
      if (Date.now() > deadline)
        throw new Error('the Cipherfold content script was not injected into this page');
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await cdp.send('Runtime.evaluate', {
      expression,
      contextId: world.id,
      awaitPromise: true,
      returnByValue: true,
    });
    if (res.exceptionDetails)
      throw new Error(`content-script evaluation failed: ${res.exceptionDetails.text}`);
    return res.result.value as unknown;
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

/** Sends a raw message from an extension page and returns the raw reply (no validation). */
export async function sendFromExtensionPage(page: Page, message: unknown): Promise<unknown> {
  return page.evaluate((m) => chrome.runtime.sendMessage(m), message);
}

export const expect = test.expect;
