/**
 * Encryption flag (§4.2), locking (§4.4, §6.7), metadata (§4.3) and filedrop merge.
 * Docs: protocol.md §4, Appendix A; protocol-observed-nc31.md §3–§5.
 */
import { describe, expect, it } from 'vitest';
import { targetSpecs, useTarget } from './target';
import {
  Client,
  E2E,
  E2E_V1,
  expectOcsFail,
  expectOcsOk,
  expectOneOf,
  expectStatus,
  isEmptyData,
  propText,
  uuidName,
} from './http';
import {
  fakeMetadata,
  fakeSignature,
  fileIdOf,
  getMetadata,
  lock,
  makeEncryptedFolder,
  metadataText,
  mkcol,
  mustLock,
  mustUnlock,
  newDir,
  postMetadata,
  putMetadata,
  tokenOf,
  unlock,
  useLockCleanup,
} from './fixtures';

describe.each(targetSpecs())('encryption flag, locks, metadata [$name]', (spec) => {
  const t = useTarget(spec);
  useLockCleanup();
  const A = () => new Client(t, t.users[0]);
  const B = () => new Client(t, t.users[1]);
  const anon = () => new Client(t, undefined);

  async function isEncrypted(c: Client, path: string): Promise<string | undefined> {
    const l = await c.propfind(path, '0', ['nc:is-encrypted']);
    expectStatus(l.res, 207);
    return propText(l.entries[0], 'nc:is-encrypted');
  }

  describe('encryption flag (§4.2)', () => {
    it('MKCOL answers OC-FileId = zero-padded id (8+ digits) + instance id, matching oc:fileid', async () => {
      const a = A();
      const dir = await newDir(a);
      const r = await a.dav('MKCOL', `${dir}/x`);
      expectStatus(r, 201);
      const h = r.headers.get('oc-fileid') ?? '';
      expect(h).toMatch(/^\d{8,}[a-z][a-z0-9]*$/);
      expect(Number(/^\d+/.exec(h)![0])).toBe(await fileIdOf(a, `${dir}/x`));
    });

    it('PUT encrypted/{id} on an empty folder: 200 []; nc:is-encrypted becomes 1; twice and via v1 also 200', async () => {
      const a = A();
      const dir = await newDir(a);
      const id = await mkcol(a, `${dir}/e`);
      expect(await isEncrypted(a, `${dir}/e`)).toBe('0');
      const r = await a.ocs('PUT', `${E2E}/encrypted/${id}`);
      expectOcsOk(r);
      expect(isEmptyData(r.data)).toBe(true);
      expect(await isEncrypted(a, `${dir}/e`)).toBe('1');
      expectOcsOk(await a.ocs('PUT', `${E2E}/encrypted/${id}`));
      expectOcsOk(await a.ocs('PUT', `${E2E_V1}/encrypted/${id}`));
    });

    it('PUT encrypted/{id}: 404 for a non-empty folder, a file and a non-existing id', async () => {
      const a = A();
      const dir = await newDir(a);
      const id = await mkcol(a, `${dir}/full`);
      expectStatus(await a.dav('PUT', `${dir}/full/f.txt`, { body: 'x' }), 201);
      expectOcsFail(await a.ocs('PUT', `${E2E}/encrypted/${id}`), 404);
      expect(await isEncrypted(a, `${dir}/full`)).toBe('0');
      const fid = await fileIdOf(a, `${dir}/full/f.txt`);
      expectOcsFail(await a.ocs('PUT', `${E2E}/encrypted/${fid}`), 404);
      expectOcsFail(await a.ocs('PUT', `${E2E}/encrypted/999999999`), 404);
    });

    it('PUT encrypted/{id} without X-E2EE-SUPPORTED: 403', async () => {
      const a = A();
      const dir = await newDir(a);
      const id = await mkcol(a, `${dir}/e`);
      expectOcsFail(await a.ocs('PUT', `${E2E}/encrypted/${id}`, { e2ee: false }), 403);
      expect(await isEncrypted(a, `${dir}/e`)).toBe('0');
    });

    it('DELETE encrypted/{id}: empty folder with metadata → 200, flag 0, metadata gone; non-empty → 404', async () => {
      const a = A();
      const dir = await newDir(a);
      const f = await makeEncryptedFolder(a, dir);
      expectOcsFail(await a.ocs('DELETE', `${E2E}/encrypted/${f.id}`, { e2ee: false }), 403);
      const r = await a.ocs('DELETE', `${E2E}/encrypted/${f.id}`);
      expectOcsOk(r);
      expect(isEmptyData(r.data)).toBe(true);
      expect(await isEncrypted(a, f.path)).toBe('0');
      expectOcsFail(await getMetadata(a, f.id), 404);

      const g = await makeEncryptedFolder(a, dir);
      const tok = await mustLock(a, g.id, 2);
      expectStatus(await a.dav('PUT', `${g.path}/${uuidName()}`, { body: 'x', token: tok }), 201);
      expectOcsOk(await putMetadata(a, g.id, tok, fakeMetadata([a.id]), fakeSignature()));
      await mustUnlock(a, g.id, tok);
      expectOcsFail(await a.ocs('DELETE', `${E2E}/encrypted/${g.id}`), 404);
    });
  });

  describe('locking (§4.4)', () => {
    it('counter header missing or 0: 400', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      expectOcsFail(await lock(a, f.id, undefined), 400);
      expectOcsFail(await lock(a, f.id, 0), 400);
    });

    it('lock → 64-char token; second lock 423; own token as header 423; as query/form/JSON parameter 200 same token', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const r = await lock(a, f.id, 2);
      expectOcsOk(r);
      const token = tokenOf(r)!;
      expect(token).toMatch(/^[A-Za-z0-9]{64}$/);
      const again = await lock(a, f.id, 3);
      expectOcsFail(again, 423);
      expect(again.text).toMatch(/File already locked/);
      expectOcsFail(await lock(a, f.id, 3, { token, tokenIn: 'header' }), 423);
      for (const tokenIn of ['query', 'form', 'json'] as const) {
        const re = await lock(a, f.id, 3, { token, tokenIn });
        expectOcsOk(re);
        expect(tokenOf(re), tokenIn).toBe(token);
      }
      // no counter check on re-acquire
      const low = await lock(a, f.id, 1, { token });
      expectOcsOk(low);
      expect(tokenOf(low)).toBe(token);
      expectOcsFail(await lock(a, f.id, 3, { token: 'x'.repeat(64) }), 423);
      await mustUnlock(a, f.id, token);
    });

    it('unlock: no token 400, token as query only 400, wrong token 403, right token 200 [], again 403 (main) / 404 (nc31)', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const token = await mustLock(a, f.id, 2);
      expectOcsFail(await unlock(a, f.id, undefined), 400);
      const q = await a.ocs('DELETE', `${E2E}/lock/${f.id}`, { query: { 'e2e-token': token } });
      expectOcsFail(q, 400);
      expectOcsFail(await unlock(a, f.id, 'y'.repeat(64)), 403);
      expectOcsFail(
        await a.ocs('DELETE', `${E2E}/lock/${f.id}`, { e2ee: false, headers: { 'e2e-token': token } }),
        403,
      );
      const ok = await unlock(a, f.id, token);
      expectOcsOk(ok);
      expect(isEmptyData(ok.data)).toBe(true);
      expectOcsFail(await unlock(a, f.id, token), t.expect({ main: 403, nc31: 404 }));
    });

    it('lock without X-E2EE-SUPPORTED: 403', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const r = await a.ocs('POST', `${E2E}/lock/${f.id}`, {
        e2ee: false,
        headers: { 'x-nc-e2ee-counter': '2' },
      });
      expectOcsFail(r, 403);
    });

    it('counter rules: first cycle records nothing; committed counter must be exceeded (412 main / 500 nc31)', async () => {
      const a = A();
      const dir = await newDir(a);
      const id = await mkcol(a, `${dir}/c`);
      expectOcsOk(await a.ocs('PUT', `${E2E}/encrypted/${id}`));
      // cycle 1: create metadata with counter 1 → nothing recorded (no metadata existed at lock time)
      let tok = await mustLock(a, id, 1);
      expectOcsOk(await postMetadata(a, id, tok, fakeMetadata([a.id]), fakeSignature()));
      await mustUnlock(a, id, tok);
      // cycle 2: counter 1 again is accepted and committed with the metadata update
      tok = await mustLock(a, id, 1);
      expectOcsOk(await putMetadata(a, id, tok, fakeMetadata([a.id]), fakeSignature()));
      await mustUnlock(a, id, tok);
      const conflict = t.expect({ main: 412, nc31: 500 });
      expectOcsFail(await lock(a, id, 1), conflict);
      // successor, then a jump
      for (const c of [2, 5]) {
        tok = await mustLock(a, id, c);
        expectOcsOk(await putMetadata(a, id, tok, fakeMetadata([a.id]), fakeSignature()));
        await mustUnlock(a, id, tok);
      }
      expectOcsFail(await lock(a, id, 3), conflict);
      expectOcsFail(await lock(a, id, 5), conflict);
      // counter staged but not committed without a metadata write, and discarded by abort
      tok = await mustLock(a, id, 6);
      await mustUnlock(a, id, tok);
      tok = await mustLock(a, id, 6);
      await mustUnlock(a, id, tok, true);
      tok = await mustLock(a, id, 6);
      expectOcsOk(await putMetadata(a, id, tok, fakeMetadata([a.id]), fakeSignature()));
      await mustUnlock(a, id, tok, true);
      tok = await mustLock(a, id, 6);
      await mustUnlock(a, id, tok);
    });

    it('a lock on an ancestor blocks the sub-folder (423); locking the ancestor ignores a locked descendant', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const tok = await mustLock(a, f.id, 2);
      const subName = uuidName();
      const subRes = await a.dav('MKCOL', `${f.path}/${subName}`, { token: tok });
      expectStatus(subRes, 201);
      const sub = Number(
        /^\d+/.exec(subRes.headers.get('oc-fileid') ?? '')?.[0] ??
          (await fileIdOf(a, `${f.path}/${subName}`)),
      );
      expectOcsOk(await a.ocs('PUT', `${E2E}/encrypted/${sub}`));
      expectOcsOk(await postMetadata(a, sub, tok, fakeMetadata(), fakeSignature()));
      expectOcsOk(await putMetadata(a, f.id, tok, fakeMetadata([a.id]), fakeSignature()));
      await mustUnlock(a, f.id, tok);

      const parentTok = await mustLock(a, f.id, 3);
      expectOcsFail(await lock(a, sub, 1), 423);
      await mustUnlock(a, f.id, parentTok);

      const subTok = await mustLock(a, sub, 1);
      const p2 = await mustLock(a, f.id, 4);
      expect(p2).not.toBe(subTok);
      await mustUnlock(a, f.id, p2);
      await mustUnlock(a, sub, subTok);
    });

    it('lock of the home root, a file, a non-existing id, or a folder the caller cannot see: 403', async () => {
      const a = A();
      const dir = await newDir(a);
      const f = await makeEncryptedFolder(a, dir);
      expectStatus(await a.dav('PUT', `${dir}/plain.txt`, { body: 'x' }), 201);
      const home = await fileIdOf(a, '/');
      const file = await fileIdOf(a, `${dir}/plain.txt`);
      for (const id of [home, file, 999999999]) expectOcsFail(await lock(a, id, 1), 403);
      expectOcsFail(await lock(B(), f.id, 2), 403);
    });

    it('lock of a plain (not encrypted) folder: 403 on main, 200 on nc31', async () => {
      const a = A();
      const dir = await newDir(a);
      const id = await mkcol(a, `${dir}/plain`);
      const r = await lock(a, id, 1);
      expectOneOf(r.status, t.expect({ main: 403, nc31: 200 }));
    });
  });

  describe('metadata v2 (§4.3)', () => {
    it('GET without metadata: 404; PUT before any POST: 404 "Metadata-file does not exist"', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a), { withMetadata: false });
      expectOcsFail(await getMetadata(a, f.id), 404);
      const tok = await mustLock(a, f.id, 1);
      const r = await putMetadata(a, f.id, tok, fakeMetadata([a.id]), fakeSignature());
      expectOcsFail(r, 404);
      await mustUnlock(a, f.id, tok);
    });

    it('POST: token header and signature required (400), token as query not enough (400), wrong token 403', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a), { withMetadata: false });
      const tok = await mustLock(a, f.id, 1);
      const md = fakeMetadata([a.id]);
      const url = `${E2E}/meta-data/${f.id}`;
      const sig = { 'x-nc-e2ee-signature': fakeSignature() };
      expectOcsFail(await a.ocs('POST', url, { form: { metaData: md }, headers: sig }), 400);
      expectOcsFail(
        await a.ocs('POST', url, { form: { metaData: md }, headers: sig, query: { 'e2e-token': tok } }),
        400,
      );
      expectOcsFail(await a.ocs('POST', url, { form: { metaData: md }, headers: { 'e2e-token': tok } }), 400);
      expectOcsFail(await postMetadata(a, f.id, 'z'.repeat(64), md, fakeSignature()), 403);
      await mustUnlock(a, f.id, tok);
    });

    it('POST stages; GET 404 while locked; second POST 409; after unlock GET returns byte-identical text + signature header', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a), { withMetadata: false });
      const tok = await mustLock(a, f.id, 1);
      // awkward but legal text: leading space, CRLF, non-ASCII, astral plane, escaped slash, trailing newline
      const md =
        ' ' + fakeMetadata([a.id]).replace('"version"', '\r\n"v€rsion-ü-😀":"a\\/b","version"') + '\n';
      const sig = fakeSignature();
      const r = await postMetadata(a, f.id, tok, md, sig);
      expectOcsOk(r);
      expect(r.data).toEqual({ 'meta-data': md });
      expectOcsFail(await getMetadata(a, f.id), 404);
      const dup = await postMetadata(a, f.id, tok, md, sig);
      expectOcsFail(dup, 409);
      expect(isEmptyData(dup.data)).toBe(true);
      await mustUnlock(a, f.id, tok);
      const g = await getMetadata(a, f.id);
      expectOcsOk(g);
      expect(metadataText(g)).toBe(md);
      expect(g.headers.get('x-nc-e2ee-signature')).toBe(sig);
      // the same text and signature through WebDAV properties
      const l = await a.propfind(f.path, '0', ['nc:e2ee-metadata', 'nc:e2ee-metadata-signature']);
      expectStatus(l.res, 207);
      expect(propText(l.entries[0], 'nc:e2ee-metadata')).toBe(md);
      expect(propText(l.entries[0], 'nc:e2ee-metadata-signature')).toBe(sig);
      // committed metadata exists: POST → 409
      const tok2 = await mustLock(a, f.id, 2);
      expectOcsFail(await postMetadata(a, f.id, tok2, md, sig), 409);
      await mustUnlock(a, f.id, tok2);
    });

    it('GET v2 without X-E2EE-SUPPORTED 403; GET v1 on a 2.0 document 403', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      expectOcsFail(await a.ocs('GET', `${E2E}/meta-data/${f.id}`, { e2ee: false }), 403);
      const v1 = await a.ocs('GET', `${E2E_V1}/meta-data/${f.id}`);
      expectOcsFail(v1, 403);
      expect(v1.meta.message).toMatch(/Client version cannot handle the requested encryption version/);
    });

    it('PUT: 400 without token/signature, 412 wrong token; staged until unlock (GET shows the old doc); repeated PUT overwrites', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const tok = await mustLock(a, f.id, 2);
      const url = `${E2E}/meta-data/${f.id}`;
      const v2 = fakeMetadata([a.id]);
      expectOcsFail(
        await a.ocs('PUT', url, { form: { metaData: v2 }, headers: { 'x-nc-e2ee-signature': 's' } }),
        400,
      );
      expectOcsFail(await a.ocs('PUT', url, { form: { metaData: v2 }, headers: { 'e2e-token': tok } }), 400);
      const wrong = await putMetadata(a, f.id, 'w'.repeat(64), v2, fakeSignature());
      expectOcsFail(wrong, 412);
      const r = await putMetadata(a, f.id, tok, v2, fakeSignature());
      expectOcsOk(r);
      expect(r.data).toEqual({ 'meta-data': v2 });
      const during = await getMetadata(a, f.id);
      expectOcsOk(during);
      expect(metadataText(during)).toBe(f.metadata);
      expect(during.headers.get('x-nc-e2ee-signature')).toBe(f.signature);
      const v3 = fakeMetadata([a.id]);
      const sig3 = fakeSignature();
      const j = await a.ocs('PUT', url, {
        json: { metaData: v3 },
        headers: { 'e2e-token': tok, 'x-nc-e2ee-signature': sig3 },
      });
      expectOcsOk(j);
      await mustUnlock(a, f.id, tok);
      const after = await getMetadata(a, f.id);
      expect(metadataText(after)).toBe(v3);
      expect(after.headers.get('x-nc-e2ee-signature')).toBe(sig3);
    });

    it('abort discards the staged document', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const tok = await mustLock(a, f.id, 2);
      expectOcsOk(await putMetadata(a, f.id, tok, fakeMetadata([a.id]), fakeSignature()));
      await mustUnlock(a, f.id, tok, true);
      const g = await getMetadata(a, f.id);
      expect(metadataText(g)).toBe(f.metadata);
      expect(g.headers.get('x-nc-e2ee-signature')).toBe(f.signature);
    });

    it('PUT without X-E2EE-SUPPORTED: 403 on main, accepted (200) on nc31', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const tok = await mustLock(a, f.id, 2);
      const r = await a.ocs('PUT', `${E2E}/meta-data/${f.id}`, {
        e2ee: false,
        form: { metaData: fakeMetadata([a.id]) },
        headers: { 'e2e-token': tok, 'x-nc-e2ee-signature': fakeSignature() },
      });
      expectOneOf(r.status, t.expect({ main: 403, nc31: 200 }));
      await mustUnlock(a, f.id, tok, true);
    });

    it('DELETE: 400 without token, 412 wrong token, 200 [] with token; still readable until unlock, 404 after', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const tok = await mustLock(a, f.id, 2);
      const url = `${E2E}/meta-data/${f.id}`;
      expectOcsFail(await a.ocs('DELETE', url), 400);
      expectOcsFail(await a.ocs('DELETE', url, { headers: { 'e2e-token': 'q'.repeat(64) } }), 412);
      const r = await a.ocs('DELETE', url, { headers: { 'e2e-token': tok } });
      expectOcsOk(r);
      expect(isEmptyData(r.data)).toBe(true);
      expectOcsOk(await getMetadata(a, f.id));
      await mustUnlock(a, f.id, tok);
      expectOcsFail(await getMetadata(a, f.id), 404);
    });

    // protocol.md: 403 "no access"; the nc31 probe saw 404 for a folder the caller cannot see (after unshare).
    it('another user cannot read the metadata of an unshared folder (403/404)', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      expectOcsFail(await getMetadata(B(), f.id), [403, 404]);
    });
  });

  describe('filedrop merge (§4.3 PUT …/filedrop)', () => {
    const entry = (tag: string) => ({
      ciphertext: `Y2lwaGVy/${tag}+==`,
      nonce: 'AAECAwQFBgcICQoL',
      authenticationTag: 'q83vEjRWeJCrze8SNFZ4kA==',
      users: [{ userId: 'someone', encryptedFiledropKey: `a2V5/${tag}` }],
    });

    it('merges entries into the top-level filedrop, re-encodes with \\/ and keeps the signature', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const u1 = uuidName();
      const input = { [u1]: entry('one') };
      const r = await a.ocs('PUT', `${E2E}/meta-data/${f.id}/filedrop`, {
        form: { filedrop: JSON.stringify(input) },
      });
      expectOcsOk(r);
      if (t.kind === 'main') expect(r.data).toEqual({ filedrop: input });
      if (t.kind === 'nc31') expect(isEmptyData(r.data)).toBe(true);
      const g = await getMetadata(a, f.id);
      expectOcsOk(g);
      const text = metadataText(g)!;
      expect(g.headers.get('x-nc-e2ee-signature')).toBe(f.signature);
      const doc = JSON.parse(text) as Record<string, unknown>;
      const orig = JSON.parse(f.metadata) as Record<string, unknown>;
      expect(doc.metadata).toEqual(orig.metadata);
      expect(doc.users).toEqual(orig.users);
      expect(doc.version).toBe(orig.version);
      expect(doc.filedrop).toEqual(input);
      expect(text).toContain('\\/');
      expect(text).not.toMatch(/[^\\]\//);

      // second merge: a new key is added, the same key is replaced
      const u2 = uuidName();
      const second = { [u2]: entry('two'), [u1]: entry('one-bis') };
      expectOcsOk(
        await a.ocs('PUT', `${E2E}/meta-data/${f.id}/filedrop`, {
          form: { filedrop: JSON.stringify(second) },
        }),
      );
      const doc2 = JSON.parse(metadataText(await getMetadata(a, f.id))!) as {
        filedrop: Record<string, unknown>;
      };
      expect(doc2.filedrop).toEqual(second);
    });

    it('no UA check: accepted without X-E2EE-SUPPORTED', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const r = await a.ocs('PUT', `${E2E}/meta-data/${f.id}/filedrop`, {
        e2ee: false,
        form: { filedrop: JSON.stringify({ [uuidName()]: entry('ua') }) },
      });
      expectOcsOk(r);
    });

    it('412 while a client holds the lock; nothing merged', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a));
      const tok = await mustLock(a, f.id, 2);
      const r = await a.ocs('PUT', `${E2E}/meta-data/${f.id}/filedrop`, {
        form: { filedrop: JSON.stringify({ [uuidName()]: entry('locked') }) },
      });
      expectOcsFail(r, 412);
      expect(r.text).toMatch(/File already locked/);
      await mustUnlock(a, f.id, tok);
      expect(metadataText(await getMetadata(a, f.id))).toBe(f.metadata);
    });

    it('404 without metadata; anonymous without shareToken 400', async () => {
      const a = A();
      const f = await makeEncryptedFolder(a, await newDir(a), { withMetadata: false });
      const body = { form: { filedrop: JSON.stringify({ [uuidName()]: entry('x') }) } };
      expectOcsFail(await a.ocs('PUT', `${E2E}/meta-data/${f.id}/filedrop`, body), 404);
      expectOcsFail(await anon().ocs('PUT', `${E2E}/meta-data/${f.id}/filedrop`, body), 400);
    });
  });
});
