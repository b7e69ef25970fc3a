/**
 * `npm start`: the Cipherfold demo. Starts the Nextcloud stand-in with seeded encrypted data (kept in
 * .demo-data/ so it survives restarts), builds the extension and opens Chromium with it at the Files page.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandIn } from '../tests/server';
import { seedDemo } from './seed-demo';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(root, '.demo-data');
const serverDir = path.join(dataDir, 'server');
const seedFile = path.join(dataDir, 'seed.json');
const port = Number(process.env.PORT ?? 8080);
const log = (s: string) => process.stderr.write(`[demo] ${s}\n`);

function findChromium(): string | undefined {
  for (const p of [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ]) {
    if (p && fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Chromium's id for an unpacked extension: SHA-256 of its absolute path, first 32 hex digits as a–p. */
function unpackedExtensionId(dir: string): string {
  const hex = createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

async function main(): Promise<void> {
  fs.mkdirSync(serverDir, { recursive: true });
  const server = await startStandIn({ port, dataDir: serverDir }).catch(async (e: unknown) => {
    if ((e as { code?: string }).code === 'EADDRINUSE') {
      log(`port ${port} is busy; using a free port (set PORT=… to choose)`);
      return startStandIn({ port: 0, dataDir: serverDir });
    }
    throw e;
  });
  let seed: { words: Record<string, string[]> };
  if (fs.existsSync(seedFile)) {
    seed = JSON.parse(fs.readFileSync(seedFile, 'utf8')) as typeof seed;
    log('using the existing demo data in .demo-data/ (delete that folder to start over)');
  } else {
    seed = await seedDemo(server.url, log);
    fs.writeFileSync(seedFile, JSON.stringify(seed, null, 2), { mode: 0o600 });
  }

  log('building the extension (wxt build) …');
  const build = spawnSync('npx', ['wxt', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error('wxt build failed');
  const ext = path.join(root, '.output', 'chrome-mv3');
  const filesUrl = `${server.url}/index.php/apps/files/`;

  process.stdout.write(`
Cipherfold demo is running.
  Nextcloud stand-in: ${server.url}   (Files page: ${filesUrl})
  Demo accounts:      alice / alice-password   bob / bob-password   carol / carol-password (no keys yet)
  alice's recovery words (demo only — never share real ones):
      ${seed.words.alice?.join(' ')}
  bob's recovery words:
      ${seed.words.bob?.join(' ')}
  Extension build:    ${ext}
`);

  const chromium = findChromium();
  const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (chromium && hasDisplay && process.env.NO_BROWSER !== '1') {
    const profile = path.join(dataDir, 'chromium-profile');
    const child = spawn(
      chromium,
      [
        `--user-data-dir=${profile}`,
        `--disable-extensions-except=${ext}`,
        `--load-extension=${ext}`,
        // Chromium refuses to start as root with its sandbox (containers, CI boxes).
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        filesUrl,
      ],
      { stdio: 'ignore' },
    );
    // Then the connect page, prefilled with the demo server (the popup leads there too). Opened through
    // the running browser once the extension is loaded: a URL on the first command line races it.
    const connectUrl = `chrome-extension://${unpackedExtensionId(ext)}/connect.html?server=${encodeURIComponent(server.url)}`;
    setTimeout(() => {
      const noSandbox = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
      spawn(chromium, [`--user-data-dir=${profile}`, ...noSandbox, connectUrl], { stdio: 'ignore' }).on(
        'error',
        () => undefined,
      );
    }, 3000);
    child.on('exit', () => log('Chromium closed; the server keeps running (Ctrl-C to stop)'));
    log('opened Chromium with the extension');
  } else {
    process.stdout.write(`
No display (or no Chromium) found, so no browser was opened. To try it yourself:
  ${chromium ?? 'chromium'} --user-data-dir=$(mktemp -d) --load-extension=${ext} --disable-extensions-except=${ext} ${filesUrl}
(Install Chromium with: apt-get install chromium)
`);
  }
  process.stdout.write('\nPress Ctrl-C to stop.\n');
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
