/** What the server (or someone on it) can do to a reader: every attack ends in a typed error. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, type StandIn } from '../../server/index';
import { NextcloudClient } from '../../../lib/nextcloud';
import { setupFirstDevice, unlockWithWords } from '../../../lib/engine/keys';
import { downloadTo, type DownloadSink } from '../../../lib/engine/transfers';
import type { OpenedFolder } from '../../../lib/engine/folders';
import { enc, kindOf, makeWorld, rootName, type World } from './helpers';

function flipCiphertext(text: string, signature: string) {
  const doc = JSON.parse(text) as { metadata: { ciphertext: string } };
  const ct = doc.metadata.ciphertext;
  const i = 10;
  doc.metadata.ciphertext = ct.slice(0, i) + (ct[i] === 'A' ? 'B' : 'A') + ct.slice(i + 1);
  return { text: JSON.stringify(doc), signature };
}

describe('adversarial server', () => {
  let w: World;
  let other: StandIn;
  let foreignCert: string;
  let foreignServerKey: string;
  let words: string[];
  beforeAll(async () => {
    w = await makeWorld('main');
    words = (w.keys['alice'] as unknown as { words: string[] }).words;
    // a second server issues a certificate for "alice" with its own key: a forgery for the first one
    other = await startStandIn();
    const c = new NextcloudClient({
      baseUrl: other.url,
      auth: { loginName: 'alice', appPassword: other.control.createAppPassword('alice') },
      userId: 'alice',
    });
    foreignCert = (await setupFirstDevice(c)).certificatePem;
    foreignServerKey = other.control.getServerPublicKeyPem();
  });
  afterAll(async () => {
    await w.close();
    await other.close();
  });
  afterEach(() => w.srv.control.resetAdversaries());

  async function rootWithFile(): Promise<OpenedFolder> {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    await s.uploadFile(await s.open(ref.path), 'f.txt', enc('secret content'));
    return s.open(ref.path);
  }

  it('tampered metadata ciphertext → signature error on open', async () => {
    const root = await rootWithFile();
    w.srv.control.tamperMetadata(Number(root.ref.fileId), flipCiphertext);
    expect(await kindOf(w.session('alice').open(root.ref.path))).toBe('signature');
  });

  it('replayed older metadata → counter error on open', async () => {
    const root = await rootWithFile();
    w.srv.control.replayMetadata(Number(root.ref.fileId), -2);
    expect(await kindOf(w.session('alice').open(root.ref.path))).toBe('counter');
  });

  it('a forged member certificate inside the metadata → certificate error', async () => {
    const root = await rootWithFile();
    await w.srv.control.rewriteMetadata(Number(root.ref.fileId), (text, signature) => {
      const doc = JSON.parse(text) as { users: { certificate: string }[] };
      doc.users[0]!.certificate = foreignCert;
      return { text: JSON.stringify(doc), signature };
    });
    expect(await kindOf(w.session('alice').open(root.ref.path))).toBe('certificate');
  });

  it('forged certificate from GET public-key / swapped server key → certificate error on unlock', async () => {
    const c = w.client('alice');
    w.srv.control.forgeCertificate('alice', foreignCert);
    expect(await kindOf(unlockWithWords(c, words))).toBe('certificate');
    w.srv.control.resetAdversaries();
    w.srv.control.swapServerKey(foreignServerKey);
    expect(await kindOf(unlockWithWords(c, words))).toBe('certificate');
  });

  it('streaming download of a tampered blob → tag error, sink aborted, never closed', async () => {
    const root = await rootWithFile();
    const s = w.session('alice');
    const id = root.entries[0]!.id;
    // replace the blob with a modified one (under a lock, committed with the unchanged metadata)
    const c = s.client;
    const blob = new Uint8Array(
      await new Response((await c.dav.download(`${root.ref.path}/${id}`)).body).arrayBuffer(),
    );
    blob[3]! ^= 1;
    const t = await c.e2ee.lock(root.ref.fileId, root.verified.inner.counter + 1);
    await c.dav.upload(`${root.ref.path}/${id}`, blob, { token: t });
    const { metadata, signature } = await c.e2ee.getMetadata(root.ref.fileId);
    await c.e2ee.updateMetadata(root.ref.fileId, metadata, signature, t);
    await c.e2ee.unlock(root.ref.fileId, t);

    const calls: string[] = [];
    const sink: DownloadSink = {
      write: () => void calls.push('write'),
      close: () => void calls.push('close'),
      abort: () => void calls.push('abort'),
    };
    expect(await kindOf(downloadTo(s, await s.reopen(root), id, sink))).toBe('tag');
    expect(calls).toContain('abort');
    expect(calls).not.toContain('close');
    expect(await kindOf(s.downloadFile(await s.reopen(root), id))).toBe('tag');
  });
});
