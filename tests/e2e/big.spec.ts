/**
 * `npm run test:big` (BIG=1) only: a 3 GiB (BIG_GIB) file generated on disk is uploaded through the
 * extension's folder view (engine: streaming encryption, chunked upload v2) and downloaded again (engine:
 * streaming decryption into a disk-backed Blob, saved through the downloads API after the tag verified);
 * the saved file's SHA-256 equals the source's. The 2 GiB single-call limit of WebCrypto does not apply.
 *
 * The server is the stand-in behind tests/big/server.ts (a child process with a disk-backed blob proxy:
 * the stand-in alone keeps blobs in memory and cannot serve one > 2 GiB from its data dir).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setupFirstDevice } from '../../lib/engine/keys';
import { E2eeSession } from '../../lib/engine/folders';
import { MemoryTrustStore } from '../../lib/engine/trust-store';
import { NextcloudClient } from '../../lib/nextcloud';
import { ui } from './accounts-helpers';
import { sha256OfFile, writeGeneratedFile } from './generated-files';
import { expect, test } from './fixtures';
import { folderFrame, row, savedDownloads } from './folder-helpers';

const BIG = process.env.BIG === '1';
const MiB = 1024 * 1024;
const SIZE = Math.round(Number(process.env.BIG_GIB ?? 3) * 1024 * MiB) + 12_345;

test.describe.configure({ timeout: 30 * 60_000 });

/** Sum of the resident memory of every Chromium process (from /proc), in bytes. */
function chromiumRss(): number {
  let sum = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('chromium')) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) sum += Number(m[1]) * 1024;
    } catch {
      /* the process ended */
    }
  }
  return sum;
}

/** Samples `chromiumRss` every 200 ms; `peak()` is the largest growth over the value at the start. */
function sampler(): { peak(): number; stop(): void } {
  const base = chromiumRss();
  let peak = 0;
  const t = setInterval(() => (peak = Math.max(peak, chromiumRss() - base)), 200);
  return { peak: () => peak, stop: () => clearInterval(t) };
}

test(`big: ${(SIZE / MiB).toFixed(0)} MiB up and down through the extension`, async ({ device }) => {
  test.skip(!BIG, 'moves 6 GiB: runs in `npm run test:big` (BIG=1) only');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-big-e2e-'));
  let child: ChildProcess | undefined;
  try {
    const src = path.join(work, 'big.bin');
    const srcHash = writeGeneratedFile(src, SIZE);

    const dataDir = path.join(work, 'server');
    fs.mkdirSync(dataDir);
    child = spawn(process.execPath, ['--import', 'tsx', 'tests/big/server.ts', dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child!.once('error', reject);
      child!.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
      child!.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim().split('\n')[0]!));
    });

    const client = new NextcloudClient({
      baseUrl: url,
      auth: { loginName: 'alice', appPassword: 'alice-password' },
      userId: 'alice',
    });
    const keys = await setupFirstDevice(client);
    await new E2eeSession(client, keys, new MemoryTrustStore()).createRoot('/', 'big');

    const setup = await device.openExtensionPage('popup.html');
    const { accountId } = await ui<{ accountId: string }>(setup, 'accounts/connect-manual', {
      serverUrl: url,
      loginName: 'alice',
      appPassword: 'alice-password',
    });
    await ui(setup, 'origins/connect', { origin: url });
    await ui(setup, 'accounts/unlock-words', { accountId, words: keys.words, mode: null, mark: null });

    const page = await device.context.newPage();
    await page.goto(`${url}/index.php/login?redirect_url=${encodeURIComponent('/index.php/apps/files/')}`);
    await page.locator('#user').fill('alice');
    await page.locator('#password').fill('alice-password');
    await page.locator('#submit-login').click();
    await page.locator('[data-cy-files-list-row-name="big"] a').click();
    const frame = await folderFrame(page);
    await expect(frame.getByTestId('file-list')).toBeVisible();

    const t0 = Date.now();
    const upMem = sampler();
    await frame.getByTestId('upload-input').setInputFiles(src);
    await expect(row(frame, 'big.bin')).toBeVisible({ timeout: 25 * 60_000 });
    const up = (Date.now() - t0) / 1000;
    upMem.stop();

    const t1 = Date.now();
    const downMem = sampler();
    await row(frame, 'big.bin').getByRole('checkbox').check();
    await frame.getByTestId('selection-bar').getByRole('button', { name: 'Download' }).click();
    await expect(frame.getByTestId('transfers')).toContainText('Verified and saved to your downloads.', {
      timeout: 25 * 60_000,
    });
    const down = (Date.now() - t1) / 1000;
    downMem.stop();
    const saved = (await savedDownloads(device)).filter((d) => d.state === 'complete');
    expect(saved).toHaveLength(1);
    expect(saved[0]!.bytes).toBe(SIZE);
    expect(sha256OfFile(saved[0]!.filename)).toBe(srcHash);
    console.log(
      `big e2e ${(SIZE / MiB).toFixed(0)} MiB: upload ${up.toFixed(0)} s (${(SIZE / 1e6 / up).toFixed(0)} MB/s), ` +
        `download + save ${down.toFixed(0)} s (${(SIZE / 1e6 / down).toFixed(0)} MB/s); peak growth of all ` +
        `Chromium processes' RSS: upload ${(upMem.peak() / MiB).toFixed(0)} MiB, download ${(downMem.peak() / MiB).toFixed(0)} MiB`,
    );
    fs.rmSync(saved[0]!.filename, { force: true });
  } finally {
    if (child?.pid !== undefined) child.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
});
