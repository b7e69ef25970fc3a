/**
 * `cipherfold backup`: downloads every encrypted root (or the one given with --folder) with all its
 * sub-folders into a dump directory (docs/dump-format.md). Needs no keys and decrypts nothing.
 *
 * Restartable: each payload is written to `<name>.partial` and renamed when complete; payloads whose size
 * already matches the server's are not downloaded again; `cipherfold-dump.json` is written last (via a
 * temporary file and rename), so its presence means the dump is complete.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { fail, isCipherfoldError } from '../lib/errors';
import { e2eeApiFamilyFor, NextcloudClient, type DavEntry, type FileId } from '../lib/nextcloud';
import { DUMP_FILE_NAME, DUMP_PAYLOAD_DIR, serialiseDump, type DumpFolder } from '../lib/backup/dump';

export interface BackupOptions {
  server: string;
  user: string;
  appPasswordFile: string;
  out: string;
  folder?: string;
  /** Injected for tests; defaults to globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
  /** Progress and warnings; defaults to stderr. */
  log?: (line: string) => void;
}

export interface BackupSummary {
  roots: number;
  folders: number;
  files: number;
  /** Bytes downloaded in this run. */
  downloaded: number;
  /** Payloads already complete from an earlier run. */
  skipped: number;
}

const SAFE_BLOB_NAME = /^[A-Za-z0-9._-]{1,255}$/;

async function readAppPassword(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw fail(
      'format',
      'The app password file could not be read. The path may be wrong or not readable. Check --app-password-file.',
      { cause: e },
    );
  }
  const pw = text
    .replace(/^\uFEFF/, '')
    .replace(/[\r\n]+$/, '')
    .trim();
  if (pw === '' || /[\r\n]/.test(pw)) {
    throw fail(
      'format',
      'The app password file is empty or has more than one line. It must contain only the app password. Create an app password in Nextcloud (Settings → Security) and save it alone in the file.',
    );
  }
  return pw;
}

function joinDav(parent: string, name: string): string {
  return (parent.endsWith('/') ? parent : parent + '/') + name;
}

function normaliseFolderPath(p: string): string {
  const segs = p.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '.' || s === '..')) {
    throw fail(
      'format',
      'The --folder path must not contain "." or ".." segments. Give the folder path as shown in Nextcloud, e.g. /Secret.',
    );
  }
  return '/' + segs.join('/');
}

/** Maps a failure of the first requests to a clear reason (auth / network / not a Nextcloud with E2EE). */
function probeError(e: unknown): never {
  if (isCipherfoldError(e)) {
    if (e.kind === 'auth' || e.kind === 'network' || e.kind === 'cancelled' || e.kind === 'e2ee-unavailable')
      throw e;
    if (e.kind === 'server' || e.kind === 'not-found' || e.kind === 'format' || e.kind === 'permission') {
      throw fail(
        'e2ee-unavailable',
        'The server did not answer like a Nextcloud server with end-to-end encryption. The address may be wrong (it must be the Nextcloud base URL), or the end-to-end encryption app may be missing. Check --server, and ask the server admin.',
        { cause: e, detail: e.detail },
      );
    }
  }
  throw e;
}

class Progress {
  folders = 0;
  files = 0;
  bytes = 0;
  skipped = 0;
  constructor(private readonly log: (line: string) => void) {}
  report(what: string): void {
    this.log(
      `backup: ${what} — folders ${this.folders}, files ${this.files} (${this.skipped} already saved), bytes ${this.bytes}`,
    );
  }
}

export async function runBackup(o: BackupOptions): Promise<BackupSummary> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const appPassword = await readAppPassword(o.appPasswordFile);
  const fetchImpl = o.fetch ?? globalThis.fetch;
  const client = new NextcloudClient({
    baseUrl: o.server,
    auth: { loginName: o.user, appPassword },
    fetch: (input, init) => fetchImpl(input, init),
    userAgent: 'Cipherfold-CLI/0.1',
    timeoutMs: 60_000,
  });

  // 1. Who am I, and can this server do E2EE for me?
  let userId: string;
  try {
    userId = await client.userId();
  } catch (e) {
    probeError(e);
  }
  let caps;
  try {
    caps = await client.getCapabilities();
  } catch (e) {
    probeError(e);
  }
  if (!caps.e2ee || !caps.e2ee.enabled) {
    throw fail(
      'e2ee-unavailable',
      'This Nextcloud server does not offer end-to-end encryption to your account. The end-to-end encryption app may be missing or disabled for you. Ask the server admin.',
    );
  }
  if (e2eeApiFamilyFor(caps.e2ee.apiVersion) !== 'v2') {
    throw fail(
      'e2ee-unavailable',
      'This server only offers the old end-to-end encryption API (1.x). Cipherfold backups need API 2.0 or newer. Ask the server admin to update the end-to-end encryption app.',
    );
  }

  // 2. Keys as stored (nothing is unwrapped).
  const serverPublicKey = await client.e2ee.getServerKey();
  let certificate: string | undefined;
  let encryptedPrivateKey: string;
  try {
    certificate = (await client.e2ee.getPublicKeys()).get(userId);
    encryptedPrivateKey = await client.e2ee.getPrivateKey();
  } catch (e) {
    if (isCipherfoldError(e, 'not-found')) certificate = undefined;
    else throw e;
    encryptedPrivateKey = '';
  }
  if (certificate === undefined || encryptedPrivateKey === '') {
    throw fail(
      'not-found',
      'Your account has no end-to-end encryption keys on this server. Encryption was never set up for it, so there is nothing to back up. Set it up in the Cipherfold extension first.',
    );
  }

  // 3. Encrypted roots.
  const roots: { path: string; entry: DavEntry }[] = [];
  if (o.folder !== undefined) {
    const path = normaliseFolderPath(o.folder);
    if (path === '/')
      throw fail('format', 'The --folder path must name an encrypted folder, not the files root.');
    const [entry] = await client.dav.propfind(path, { depth: 0 });
    const parentPath = path.slice(0, path.lastIndexOf('/')) || '/';
    const parent = parentPath === '/' ? undefined : (await client.dav.propfind(parentPath, { depth: 0 }))[0];
    if (!entry || !entry.isFolder || !entry.isEncrypted || parent?.isEncrypted) {
      throw fail(
        'unsupported',
        'The --folder path is not a top-level end-to-end encrypted folder. Only whole encrypted folders (not plain folders or sub-folders) can be backed up. Give the path of the encrypted folder itself.',
      );
    }
    roots.push({ path, entry });
  } else {
    const queue = ['/'];
    while (queue.length > 0) {
      const path = queue.shift()!;
      const entries = await client.dav.propfind(path, { depth: 1 });
      for (const e of entries.slice(1)) {
        if (!e.isFolder) continue;
        if (e.isEncrypted) roots.push({ path: joinDav(path, e.name), entry: e });
        else queue.push(joinDav(path, e.name));
      }
    }
  }

  // An old dump.json must not describe a half-updated directory.
  await mkdir(o.out, { recursive: true });
  await rm(join(o.out, DUMP_FILE_NAME), { force: true });

  const progress = new Progress(log);
  const folders: DumpFolder[] = [];
  for (const root of roots) {
    const rootId = root.entry.fileId;
    if (rootId === undefined) throw fail('server', 'The server did not report a folder id. Try again later.');
    await backupFolder(client, o.out, root.path, rootId, null, root.entry.name, folders, progress, log);
  }

  const text = serialiseDump({
    format: 1,
    server: client.baseUrl,
    user: userId,
    serverPublicKey,
    certificate,
    encryptedPrivateKey,
    folders,
  });
  const tmp = join(o.out, DUMP_FILE_NAME + '.partial');
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, join(o.out, DUMP_FILE_NAME));
  progress.report('done');
  return {
    roots: roots.length,
    folders: folders.length,
    files: progress.files,
    downloaded: progress.bytes,
    skipped: progress.skipped,
  };
}

async function backupFolder(
  client: NextcloudClient,
  out: string,
  path: string,
  fileId: FileId,
  parentFileId: string | null,
  name: string,
  folders: DumpFolder[],
  progress: Progress,
  log: (line: string) => void,
): Promise<void> {
  const { metadata, signature } = await client.e2ee.getMetadata(fileId);
  folders.push({ fileId, parentFileId, name, metadata, signature: signature === '' ? null : signature });
  progress.folders++;
  const entries = (await client.dav.propfind(path, { depth: 1 })).slice(1);
  const dir = join(out, DUMP_PAYLOAD_DIR, fileId);
  for (const e of entries) {
    if (e.isFolder) continue;
    if (!SAFE_BLOB_NAME.test(e.name) || e.name === '.' || e.name === '..' || e.name.endsWith('.partial')) {
      log('backup: warning: skipped a file with an unexpected name inside an encrypted folder.');
      continue;
    }
    await mkdir(dir, { recursive: true });
    await downloadPayload(client, joinDav(path, e.name), join(dir, e.name), e.size, progress);
    progress.files++;
  }
  progress.report(`folder ${folders.length}`);
  for (const e of entries) {
    if (!e.isFolder) continue;
    if (e.fileId === undefined)
      throw fail('server', 'The server did not report a folder id. Try again later.');
    if (!/^[0-9a-fA-F]{32}$/.test(e.name)) {
      log('backup: warning: skipped a sub-folder whose name is not an encrypted id.');
      continue;
    }
    await backupFolder(client, out, joinDav(path, e.name), e.fileId, fileId, e.name, folders, progress, log);
  }
}

async function downloadPayload(
  client: NextcloudClient,
  davPath: string,
  target: string,
  size: number | undefined,
  progress: Progress,
): Promise<void> {
  if (size !== undefined) {
    const st = await stat(target).catch(() => undefined);
    if (st?.isFile() && st.size === size) {
      progress.skipped++;
      return;
    }
  }
  const partial = target + '.partial';
  const dl = await client.dav.download(davPath);
  let written = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      written += chunk.length;
      progress.bytes += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const source = Readable.fromWeb(dl.body.pipeThrough(counter) as unknown as NodeReadableStream<Uint8Array>);
  await pipeline(source, createWriteStream(partial, { mode: 0o600 }) as Writable);
  const expected = size ?? dl.size;
  if (expected !== undefined && written !== expected) {
    throw fail(
      'network',
      'A download ended early (fewer bytes than the server announced). The connection may have dropped. Run the backup again; finished files are kept.',
    );
  }
  await rename(partial, target);
}
