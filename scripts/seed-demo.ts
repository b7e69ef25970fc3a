/**
 * Seeds a stand-in server with demo data made through `lib/`: keys for alice and bob, and an encrypted
 * folder tree for alice ("Encrypted" with documents, a photo, a sub-folder tree). Returns alice's words.
 */
import { utf8, type Bytes } from '../lib/crypto/bytes';
import { E2eeSession } from '../lib/engine/folders';
import { setupFirstDevice } from '../lib/engine/keys';
import { MemoryTrustStore } from '../lib/engine/trust-store';
import { NextcloudClient } from '../lib/nextcloud';

export interface DemoSeed {
  words: Record<string, string[]>;
  encryptedPath: string;
}

function client(url: string, user: string, password: string): NextcloudClient {
  return new NextcloudClient({ baseUrl: url, auth: { loginName: user, appPassword: password } });
}

/** A tiny valid PNG (a 2×2 lock-coloured image) so the viewer has something to show. */
function demoPng(): Bytes {
  const b64 =
    'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGNkYPjPwMDAxMDAwMDAAAAHGgEDzxhz3AAAAABJRU5ErkJggg==';
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)) as Bytes;
}

export async function seedDemo(url: string, log: (s: string) => void = () => undefined): Promise<DemoSeed> {
  const alice = client(url, 'alice', 'alice-password');
  const bob = client(url, 'bob', 'bob-password');
  log('creating keys for alice and bob …');
  const aliceKeys = await setupFirstDevice(alice);
  const bobKeys = await setupFirstDevice(bob);
  const session = new E2eeSession(alice, aliceKeys, new MemoryTrustStore());
  log('creating the encrypted folder tree …');
  await alice.dav.mkcol('/Documents');
  await alice.dav.upload(
    '/Documents/Welcome.txt',
    utf8('This folder is not encrypted. Open "Encrypted" to see Cipherfold.\n'),
  );
  const root = await session.createRoot('/', 'Encrypted');
  let folder = await session.open(root.path);
  await session.uploadFile(
    folder,
    'Read me.md',
    utf8(
      '# Hello from Cipherfold\n\nThis file was encrypted on your device. The server only stores ciphertext.\n',
    ),
    'text/markdown',
  );
  await session.uploadFile(
    (folder = await session.reopen(folder)),
    'Budget 2027.csv',
    utf8('item,amount\nrent,1200\nfood,400\n'),
    'text/csv',
  );
  await session.uploadFile((folder = await session.reopen(folder)), 'lock.png', demoPng(), 'image/png');
  const projects = await session.createFolder(await session.reopen(folder), 'Projects');
  let sub = await session.open(projects.path);
  await session.uploadFile(sub, 'Plan — ünïcödé.txt', utf8('Step 1: encrypt everything.\n'), 'text/plain');
  const archive = await session.createFolder(await session.reopen(sub), 'Archive');
  sub = await session.open(archive.path);
  await session.uploadFile(sub, 'old-notes.txt', utf8('Nothing to see here.\n'), 'text/plain');
  return { words: { alice: aliceKeys.words, bob: bobKeys.words }, encryptedPath: root.path };
}
