/**
 * Shared set-up for the CLI tests: a stand-in Nextcloud with alice's keys and an encrypted tree built
 * through lib/engine (root with files, nested sub-folders, an empty file, a few-MiB file, a non-ASCII
 * name, a pending filedrop entry, a second root below a plain folder), plus a `recovery` user who is a
 * member of the first root. Expensive parts (RSA key generation, PBKDF2) happen once per test file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { randomBytes, toBase64, utf8, type Bytes } from '../../lib/crypto/bytes';
import { pemEncode } from '../../lib/crypto/pem';
import { setupFirstDevice, type UserKeys } from '../../lib/engine/keys';
import { E2eeSession, type OpenedFolder } from '../../lib/engine/folders';
import { MemoryTrustStore } from '../../lib/engine/trust-store';
import { encryptPayload } from '../../lib/protocol/payload';
import { NextcloudClient, type FileId } from '../../lib/nextcloud';
import {
  addUser,
  encryptGzipGcm,
  encryptMetadataKeyFor,
  newMetadataKey,
  newUuid32,
  serialiseRoot,
  withCounter,
  type RootDraft,
  type UserId,
  type VerifiedRoot,
} from '../../lib/protocol/metadata';
import { startStandIn, type StandIn } from '../server/index';

export const REPO = resolve(__dirname, '../..');
export const BIN = join(REPO, 'bin/cipherfold.mjs');

export interface Fixture {
  srv: StandIn;
  tmp: string;
  alice: UserKeys & { words: string[] };
  recovery: UserKeys & { words: string[] };
  recoveryKeyPem: string;
  /** App password of alice, written to `passwordFile`. */
  appPassword: string;
  passwordFile: string;
  wordsFile: string;
  /** Relative output path ("Secret/Docs/nested.txt") → plaintext. */
  expected: Map<string, Bytes>;
  /** Same, only the tree of /Secret. */
  expectedSecret: Map<string, Bytes>;
  secretId: FileId;
  close(): Promise<void>;
}

function clientFor(srv: StandIn, user: string): NextcloudClient {
  return new NextcloudClient({
    baseUrl: srv.url,
    auth: { loginName: user, appPassword: srv.control.createAppPassword(user) },
  });
}

function patterned(n: number, seed: number): Bytes {
  const out = new Uint8Array(n) as Bytes;
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export async function buildFixture(): Promise<Fixture> {
  const srv = await startStandIn();
  const tmp = await mkdtemp(join(tmpdir(), 'cipherfold-cli-'));
  srv.control.addUser({ id: 'recovery', password: 'recovery-password' });
  const aliceClient = clientFor(srv, 'alice');
  const [alice, recovery] = await Promise.all([
    setupFirstDevice(aliceClient),
    setupFirstDevice(clientFor(srv, 'recovery')),
  ]);
  const session = new E2eeSession(aliceClient, alice, new MemoryTrustStore());
  const expected = new Map<string, Bytes>();

  // Root "Secret" with the recovery user as a second member (added before anything is inside it).
  const secret = await session.createRoot('/', 'Secret');
  {
    const root = await session.open('/Secret');
    const v = root.verified as VerifiedRoot;
    const counter = v.inner.counter + 1;
    const token = await aliceClient.e2ee.lock(secret.fileId, counter);
    const base: RootDraft = {
      kind: 'v2-root',
      version: v.version,
      users: v.users,
      metadataKey: v.metadataKey,
      inner: v.inner,
      filedrop: v.filedrop,
    };
    const draft = await addUser(withCounter(base, counter), {
      userId: 'recovery' as UserId,
      certificatePem: recovery.certificatePem,
    });
    const doc = await serialiseRoot(draft, { key: alice.key, certificatePem: alice.certificatePem });
    await aliceClient.e2ee.updateMetadata(secret.fileId, doc.text, doc.signature, token);
    await aliceClient.e2ee.unlock(secret.fileId, token);
  }
  const upload = async (path: string, clearPath: string, name: string, data: Bytes): Promise<void> => {
    const folder: OpenedFolder = await session.open(path);
    await session.uploadFile(folder, name, data);
    expected.set(`${clearPath}/${name}`, data);
  };
  await upload('/Secret', 'Secret', 'hello.txt', utf8('Hello, backup!\n'));
  await upload('/Secret', 'Secret', 'empty.bin', new Uint8Array(0) as Bytes);
  await upload('/Secret', 'Secret', 'Grüße – 日本語 ✓.txt', utf8('non-ASCII name\n'));
  await upload('/Secret', 'Secret', 'big.bin', patterned(3 * 1024 * 1024 + 123, 7));
  const docs = await session.createFolder(await session.open('/Secret'), 'Docs');
  await upload(docs.path, 'Secret/Docs', 'nested.txt', utf8('nested file\n'));
  const deep = await session.createFolder(await session.open(docs.path), 'Deep');
  await upload(deep.path, 'Secret/Docs/Deep', 'deep.bin', patterned(70_000, 3));
  await session.createFolder(await session.open(docs.path), 'Empty folder');
  expected.set('Secret/Docs/Empty folder/', new Uint8Array(0) as Bytes);

  // A pending filedrop entry (as the anonymous upload page would add it): blob in the root, entry merged.
  {
    const content = utf8('dropped through the upload link\n');
    const payload = await encryptPayload(content);
    const id = newUuid32();
    const root = await session.open('/Secret');
    // The blob is PUT under a lock; the stand-in commits staged DAV writes only with a metadata write,
    // so the (unchanged) root document is rewritten with the next counter in the same cycle.
    const v = root.verified as VerifiedRoot;
    const counter = v.inner.counter + 1;
    const token = await aliceClient.e2ee.lock(secret.fileId, counter);
    await aliceClient.dav.upload(`/Secret/${id}`, payload.blob, { token });
    const same: RootDraft = {
      kind: 'v2-root',
      version: v.version,
      users: v.users,
      metadataKey: v.metadataKey,
      inner: v.inner,
      filedrop: v.filedrop,
    };
    const doc = await serialiseRoot(withCounter(same, counter), {
      key: alice.key,
      certificatePem: alice.certificatePem,
    });
    await aliceClient.e2ee.updateMetadata(secret.fileId, doc.text, doc.signature, token);
    await aliceClient.e2ee.unlock(secret.fileId, token);
    const fdKey = newMetadataKey();
    const info = {
      filename: 'dropped.txt',
      mimetype: 'text/plain',
      key: toBase64(payload.key),
      nonce: toBase64(payload.nonce),
      authenticationTag: toBase64(payload.tag),
      filesize: content.length,
    };
    const enc = await encryptGzipGcm(utf8(JSON.stringify(info)), fdKey);
    const users = [];
    for (const u of (root.verified as VerifiedRoot).users) {
      users.push({
        userId: u.userId,
        encryptedFiledropKey: await encryptMetadataKeyFor(u.certificate, fdKey),
      });
    }
    await aliceClient.e2ee.addFiledrop(secret.fileId, { [id]: { ...enc, users } });
    expected.set('Secret/dropped.txt', content);
  }
  const expectedSecret = new Map([...expected].filter(([k]) => k.startsWith('Secret/')));

  // A second root below a plain folder (found by the breadth-first walk), plus a plain file.
  await aliceClient.dav.mkcol('/Plain');
  await aliceClient.dav.upload('/Plain/readme.txt', utf8('not encrypted'));
  await session.createRoot('/Plain', 'Inner');
  await upload('/Plain/Inner', 'Inner', 'inner.txt', randomBytes(1000));

  const appPassword = srv.control.createAppPassword('alice');
  const passwordFile = join(tmp, 'app-password');
  await writeFile(passwordFile, appPassword + '\n', { mode: 0o600 });
  const wordsFile = join(tmp, 'words.txt');
  await writeFile(wordsFile, alice.words.join(' ') + '\n', { mode: 0o600 });
  return {
    srv,
    tmp,
    alice,
    recovery,
    recoveryKeyPem: pemEncode('PRIVATE KEY', recovery.key.pkcs8),
    appPassword,
    passwordFile,
    wordsFile,
    expected,
    expectedSecret,
    secretId: secret.fileId,
    close: () => srv.close(),
  };
}

/** Every file below `dir` (relative path → bytes); empty directories as "path/" → empty. */
export async function readTree(dir: string): Promise<Map<string, Bytes>> {
  const out = new Map<string, Bytes>();
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    if (entries.length === 0 && d !== dir) out.set(relative(dir, d) + '/', new Uint8Array(0) as Bytes);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), new Uint8Array(await readFile(p)) as Bytes);
    }
  };
  await walk(dir);
  return out;
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real command line (`node bin/cipherfold.mjs …`). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO,
      env: { ...process.env, CIPHERFOLD_DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}
