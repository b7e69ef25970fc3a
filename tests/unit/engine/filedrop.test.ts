/** §9.16 migrating filedrop entries into the root, and the G-19 failure mode of a folder MOVE. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64, utf8, type Bytes } from '../../../lib/crypto/bytes';
import { encryptGzipGcm, encryptMetadataKeyFor, newUuid32 } from '../../../lib/protocol/metadata';
import { encryptFilePayload } from '../../../lib/engine/payload-adapter';
import { migrateFiledrop, moveEntry, uploadTree } from '../../../lib/engine/ops';
import { kindOf, makeWorld, rootName, source, type World } from './helpers';

describe.each(['main', 'nc31'] as const)('filedrop and folder-move failure (%s)', (flavour) => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld(flavour);
  });
  afterAll(() => w.close());

  it('migrateFiledrop moves readable entries into files and keeps the others', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName('drop'));
    const share = await s.client.shares.create({ path: ref.path, shareType: 3, permissions: 4 });
    const entries: Record<string, unknown> = {};
    for (const [name, text, forAlice] of [
      ['dropped.txt', 'from the drop', true],
      ['not-for-me.txt', 'nope', false],
    ] as const) {
      // what the official upload page does: blob via public DAV, entry encrypted to the members
      const id = newUuid32();
      const p = await encryptFilePayload(utf8(text));
      const res = await fetch(`${w.srv.url}/public.php/dav/files/${share.token}/${id}`, {
        method: 'PUT',
        body: p.blob,
        headers: { 'X-Requested-With': 'XMLHttpRequest' },
      });
      expect(res.status).toBe(201);
      const info = {
        filename: name,
        mimetype: 'text/plain',
        key: toBase64(p.key),
        nonce: toBase64(p.nonce),
        authenticationTag: toBase64(p.tag),
      };
      const fk = crypto.getRandomValues(new Uint8Array(16)) as Bytes;
      const enc = await encryptGzipGcm(utf8(JSON.stringify(info)), fk);
      entries[id] = {
        ...enc,
        users: [
          {
            userId: forAlice ? 'alice' : 'someone-else',
            encryptedFiledropKey: await encryptMetadataKeyFor(w.keys['alice']!.certificatePem, fk),
          },
        ],
      };
    }
    await s.client.e2ee.addFiledrop(ref.fileId, entries);
    const root = await s.open(ref.path);
    expect(root.entries).toEqual([]);
    const r = await migrateFiledrop(s, root);
    expect(r.applied).toHaveLength(1);
    expect(r.kept).toBe(1);
    const after = await s.open(ref.path);
    expect(after.entries.map((e) => e.name)).toEqual(['dropped.txt']);
    expect(after.verified.kind === 'v2-root' && after.verified.filedrop.size).toBe(1);
    const f = after.entries[0]!;
    expect(new TextDecoder().decode((await s.downloadFile(after, f.id)).data)).toBe('from the drop');
    // nothing left to migrate: no lock taken
    const before = w.srv.control.requests.length;
    expect((await migrateFiledrop(s, after)).applied).toEqual([]);
    expect(w.srv.control.requests.slice(before).some((q) => q.path.includes('/lock/'))).toBe(false);
  });

  async function setup() {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    await uploadTree(s, await s.open(ref.path), [
      {
        kind: 'folder',
        name: 'A',
        children: [
          {
            kind: 'folder',
            name: 'Inner',
            children: [{ kind: 'file', source: source('x.txt', 'precious') }],
          },
        ],
      },
      { kind: 'folder', name: 'B', children: [] },
    ]);
    const root = await s.open(ref.path);
    const a = await s.open(`${ref.path}/${root.entries.find((e) => e.name === 'A')!.id}`);
    const b = await s.open(`${ref.path}/${root.entries.find((e) => e.name === 'B')!.id}`);
    return { s, ref, a, b, inner: a.entries[0]! };
  }
  const metaPutOf = (id: string) => new RegExp(`/meta-data/${Number(id)}(\\?|$)`);

  it.each([
    ['twice (the unchanged rewrite works)', 2, true],
    ['persistently', Number.POSITIVE_INFINITY, false],
  ])(
    'folder MOVE whose metadata write for B fails %s is committed, not aborted: the sub-tree survives (G-19)',
    async (_, times, visibleAtOnce) => {
      const { s, ref, a, b, inner } = await setup();
      const rule = w.srv.control.forceStatus({
        method: 'PUT',
        path: metaPutOf(b.ref.fileId),
        status: 503,
        times,
      });
      try {
        expect(await kindOf(moveEntry(s, a, inner.id, b))).toBe('server');
      } finally {
        w.srv.control.clearRule(rule);
      }
      expect(w.srv.control.lockOf(Number(ref.fileId))).toBeUndefined();
      if (!visibleAtOnce) {
        // still staged in B; B's next committing cycle finalises it (NC 31 behaviour)
        await s.createFolder(await s.reopen(b), 'later');
      }
      const after = await s.reopen(b);
      expect(after.unknownEntries).toBe(1); // not listed in B's metadata…
      const [entry] = await s.client.dav.propfind(`${b.ref.path}/${inner.id}`, { depth: 0 });
      expect(entry?.isFolder).toBe(true); // …but kept, with its metadata and content
      const sub = await s.client.dav.propfind(`${b.ref.path}/${inner.id}`, { depth: 1 });
      expect(sub).toHaveLength(2);
      expect(w.srv.control.committedMetadata(Number(entry!.fileId))).toBeDefined();
    },
  );
});
