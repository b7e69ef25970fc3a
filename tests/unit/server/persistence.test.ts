/** dataDir persistence: files, metadata, keys and the server key survive a restart. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStandIn } from '../../server/index';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('persistence', () => {
  it('restores the tree, blobs, app passwords and the server key from dataDir', async () => {
    const a = await startStandIn({ dataDir: dir });
    const auth = { Authorization: 'Basic ' + Buffer.from('alice:alice-password').toString('base64') };
    expect(
      (await fetch(`${a.url}/remote.php/dav/files/alice/d`, { method: 'MKCOL', headers: auth })).status,
    ).toBe(201);
    expect(
      (
        await fetch(`${a.url}/remote.php/dav/files/alice/d/f.txt`, {
          method: 'PUT',
          headers: auth,
          body: 'kept',
        })
      ).status,
    ).toBe(201);
    const id = a.control.fileIdOf('alice', '/d/f.txt');
    const pw = a.control.createAppPassword('alice');
    const key = a.control.getServerPublicKeyPem();
    await a.close();

    const b = await startStandIn({ dataDir: dir });
    try {
      expect(b.control.fileIdOf('alice', '/d/f.txt')).toBe(id);
      expect(b.control.getServerPublicKeyPem()).toBe(key);
      const basic = { Authorization: 'Basic ' + Buffer.from(`alice:${pw}`).toString('base64') };
      const r = await fetch(`${b.url}/remote.php/dav/files/alice/d/f.txt`, { headers: basic });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('kept');
    } finally {
      await b.close();
    }
  });
});
