import { describe, expect, it } from 'vitest';
import { CipherfoldError } from '../../../lib/errors';
import { NextcloudClient } from '../../../lib/nextcloud/client';
import { encodeDavPath } from '../../../lib/nextcloud/dav';
import { asLockToken } from '../../../lib/nextcloud/ids';
import { parseMultistatus } from '../../../lib/nextcloud/multistatus';
import { FakeFetch } from './fake-fetch';

const BASE = 'https://h/nc';
const DAV = `${BASE}/remote.php/dav/files/alice`;
const TOKEN = asLockToken('T'.repeat(64));
const META = '{"metadata":{"ciphertext":"abc|def","nonce":"n"},"users":[{"userId":"alice"}],"version":"2.0"}';

function setup(...responses: Response[]): { ff: FakeFetch; c: NextcloudClient } {
  const ff = new FakeFetch().reply(...responses);
  return {
    ff,
    c: new NextcloudClient({
      baseUrl: BASE,
      auth: { loginName: 'a', appPassword: 'b' },
      userId: 'alice',
      fetch: ff.fetch,
    }),
  };
}

async function caught(p: Promise<unknown>): Promise<CipherfoldError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CipherfoldError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

async function readAll(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Shaped like a real Nextcloud 31 answer (prefixes d/s/oc/nc). */
const NC_XML = `<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
 <d:response>
  <d:href>/nc/remote.php/dav/files/alice/Secret%20%C3%9Cnits/</d:href>
  <d:propstat>
   <d:prop>
    <d:resourcetype><d:collection/></d:resourcetype>
    <d:displayname>Secret Ünits</d:displayname>
    <d:getlastmodified>Wed, 02 Dec 2026 10:00:00 GMT</d:getlastmodified>
    <d:getetag>&quot;6930a0b0c1d2e&quot;</d:getetag>
    <oc:fileid>1212</oc:fileid>
    <oc:permissions>RGDNVCK</oc:permissions>
    <nc:is-encrypted>1</nc:is-encrypted>
    <nc:e2ee-is-encrypted>1</nc:e2ee-is-encrypted>
    <nc:e2ee-metadata>${esc(META)}</nc:e2ee-metadata>
    <nc:e2ee-metadata-signature>MIAGCSqGSIb3DQEHAqCAMIACAQEx</nc:e2ee-metadata-signature>
   </d:prop>
   <d:status>HTTP/1.1 200 OK</d:status>
  </d:propstat>
  <d:propstat>
   <d:prop><d:getcontentlength/><d:getcontenttype/></d:prop>
   <d:status>HTTP/1.1 404 Not Found</d:status>
  </d:propstat>
 </d:response>
 <d:response>
  <d:href>/nc/remote.php/dav/files/alice/Secret%20%C3%9Cnits/0123456789abcdef0123456789abcdef</d:href>
  <d:propstat>
   <d:prop>
    <d:resourcetype/>
    <d:displayname>0123456789abcdef0123456789abcdef</d:displayname>
    <d:getcontentlength>1234</d:getcontentlength>
    <d:getcontenttype>application/octet-stream</d:getcontenttype>
    <d:getlastmodified>Wed, 02 Dec 2026 10:01:00 GMT</d:getlastmodified>
    <d:getetag>&quot;e2&quot;</d:getetag>
    <oc:fileid>1213</oc:fileid>
    <oc:permissions>RGDNVW</oc:permissions>
    <nc:e2ee-is-encrypted>1</nc:e2ee-is-encrypted>
   </d:prop>
   <d:status>HTTP/1.1 200 OK</d:status>
  </d:propstat>
  <d:propstat>
   <d:prop><nc:is-encrypted/><nc:e2ee-metadata/><nc:e2ee-metadata-signature/></d:prop>
   <d:status>HTTP/1.1 404 Not Found</d:status>
  </d:propstat>
 </d:response>
 <d:response>
  <d:href>/nc/remote.php/dav/files/alice/Secret%20%C3%9Cnits/fedcba9876543210fedcba9876543210/</d:href>
  <d:propstat>
   <d:prop>
    <d:resourcetype><d:collection/></d:resourcetype>
    <oc:fileid>1214</oc:fileid>
    <oc:permissions>RGDNVCK</oc:permissions>
    <nc:is-encrypted>1</nc:is-encrypted>
    <nc:e2ee-is-encrypted>1</nc:e2ee-is-encrypted>
    <nc:e2ee-metadata><![CDATA[{"sub":true}]]></nc:e2ee-metadata>
    <nc:e2ee-metadata-signature>U0lH</nc:e2ee-metadata-signature>
   </d:prop>
   <d:status>HTTP/1.1 200 OK</d:status>
  </d:propstat>
 </d:response>
</d:multistatus>`;

/** Same content, unusual prefixes / default namespaces / absolute hrefs. */
const ODD_XML = `<?xml version="1.0" encoding="utf-8"?>
<multistatus xmlns="DAV:" xmlns:OWN="http://owncloud.org/ns">
 <response>
  <href>https://h/nc/remote.php/dav/files/alice/Secret%20%C3%9Cnits/</href>
  <propstat><prop>
    <resourcetype><collection/></resourcetype>
    <OWN:fileid>1212</OWN:fileid>
    <X:is-encrypted xmlns:X="http://nextcloud.org/ns">1</X:is-encrypted>
    <e2ee-metadata xmlns="http://nextcloud.org/ns">${esc(META)}</e2ee-metadata>
    <oc:e2ee-metadata xmlns:oc="http://owncloud.org/ns">wrong namespace</oc:e2ee-metadata>
  </prop><status>HTTP/1.1 200 OK</status></propstat>
 </response>
 <response>
  <href>https://h/nc/remote.php/dav/files/alice/Secret%20%C3%9Cnits/a%3Fb%25c</href>
  <propstat><prop><resourcetype/><getcontentlength>7</getcontentlength></prop><status>HTTP/1.1 200 OK</status></propstat>
 </response>
 <response><href>/nc/remote.php/dav/files/alice/gone</href><status>HTTP/1.1 404 Not Found</status></response>
</multistatus>`;

const xml207 = (x: string): Response =>
  new Response(x, { status: 207, headers: { 'Content-Type': 'application/xml; charset=utf-8' } });

describe('paths', () => {
  it('encodes each segment once and rejects dot segments', () => {
    expect(encodeDavPath('/A b/ü#?%20.txt')).toBe('/A%20b/%C3%BC%23%3F%2520.txt');
    expect(encodeDavPath('')).toBe('/');
    expect(encodeDavPath('//x//y/')).toBe('/x/y');
    expect(() => encodeDavPath('/a/../b')).toThrow(CipherfoldError);
    expect(() => encodeDavPath('./a')).toThrow(CipherfoldError);
  });
});

describe('PROPFIND', () => {
  it('sends depth, headers and the base props; e2ee metadata props only when asked', async () => {
    const { ff, c } = setup(xml207(NC_XML), xml207(NC_XML));
    await c.dav.propfind('/Secret Ünits');
    const r = ff.requests[0]!;
    expect(r.method).toBe('PROPFIND');
    expect(r.url).toBe(`${DAV}/Secret%20%C3%9Cnits`);
    expect(r.headers['depth']).toBe('1');
    expect(r.headers['x-e2ee-supported']).toBe('true');
    for (const p of [
      'd:resourcetype',
      'd:displayname',
      'd:getcontentlength',
      'd:getlastmodified',
      'd:getetag',
      'd:getcontenttype',
      'oc:fileid',
      'oc:permissions',
      'nc:is-encrypted',
      'nc:e2ee-is-encrypted',
    ]) {
      expect(r.body).toContain(`<${p}/>`);
    }
    expect(r.body).not.toContain('e2ee-metadata');
    await c.dav.propfind('/Secret Ünits', { depth: 0, e2eeMetadata: true });
    expect(ff.requests[1]!.headers['depth']).toBe('0');
    expect(ff.requests[1]!.body).toContain('<nc:e2ee-metadata/>');
    expect(ff.requests[1]!.body).toContain('<nc:e2ee-metadata-signature/>');
  });

  it('parses a real-shaped Nextcloud multistatus', async () => {
    const { c } = setup(xml207(NC_XML));
    const [root, file, sub] = await c.dav.propfind('/Secret Ünits', { e2eeMetadata: true });
    expect(root).toEqual({
      href: '/nc/remote.php/dav/files/alice/Secret%20%C3%9Cnits/',
      path: '/Secret Ünits',
      name: 'Secret Ünits',
      isFolder: true,
      fileId: '1212',
      size: undefined,
      etag: '6930a0b0c1d2e',
      lastModified: new Date('2026-12-02T10:00:00Z'),
      contentType: undefined,
      displayName: 'Secret Ünits',
      permissions: 'RGDNVCK',
      isEncrypted: true,
      e2eeIsEncrypted: true,
      metadata: META,
      signature: 'MIAGCSqGSIb3DQEHAqCAMIACAQEx',
    });
    expect(file).toMatchObject({
      path: '/Secret Ünits/0123456789abcdef0123456789abcdef',
      name: '0123456789abcdef0123456789abcdef',
      isFolder: false,
      fileId: '1213',
      size: 1234,
      contentType: 'application/octet-stream',
      isEncrypted: false,
      e2eeIsEncrypted: true,
      permissions: 'RGDNVW',
    });
    expect(file).not.toHaveProperty('metadata');
    expect(sub).toMatchObject({
      isFolder: true,
      fileId: '1214',
      metadata: '{"sub":true}',
      signature: 'U0lH',
    });
  });

  it('parses the odd-prefix variant (default namespaces, absolute hrefs, encoded characters)', () => {
    const entries = parseMultistatus(ODD_XML, { basePath: '/nc', userId: 'alice' });
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      path: '/Secret Ünits',
      fileId: '1212',
      isFolder: true,
      isEncrypted: true,
      metadata: META,
    });
    expect(entries[1]).toMatchObject({
      name: 'a?b%c',
      path: '/Secret Ünits/a?b%c',
      isFolder: false,
      size: 7,
    });
  });

  it('hrefs outside the user root, or dot segments, are format errors', () => {
    const mk = (href: string): string =>
      `<d:multistatus xmlns:d="DAV:"><d:response><d:href>${href}</d:href><d:propstat><d:prop/><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`;
    for (const h of [
      '/nc/remote.php/dav/files/bob/x',
      '/nc/remote.php/dav/files/alice/%2E%2E/x',
      '/nc/remote.php/dav/files/alice/a%2Fb',
      'relative/x',
      '/nc/remote.php/dav/files/alice/%E0%A4%A',
    ]) {
      let kind: string | undefined;
      try {
        parseMultistatus(mk(h), { basePath: '/nc', userId: 'alice' });
      } catch (e) {
        kind = (e as CipherfoldError).kind;
      }
      expect(kind).toBe('format');
    }
    expect(
      parseMultistatus(mk('/remote.php/dav/files/alice/'), { basePath: '', userId: 'alice' })[0],
    ).toMatchObject({ path: '/', name: '' });
  });

  it('non-multistatus XML is a format error; 500 is a server error; UA 403 is e2ee-unavailable', async () => {
    const sabre403 = `<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">
  <s:exception>OCA\\DAV\\Connector\\Sabre\\Exception\\Forbidden</s:exception>
  <s:message>Client "Mozilla/5.0" is not allowed to access end-to-end encrypted content.</s:message>
</d:error>`;
    const { c } = setup(
      xml207('<x/>'),
      new Response('', { status: 500 }),
      new Response(sabre403, { status: 403 }),
      new Response('', { status: 200 }),
    );
    expect((await caught(c.dav.propfind('/x'))).kind).toBe('format');
    expect((await caught(c.dav.propfind('/x', { e2eeMetadata: true }))).kind).toBe('server');
    const e = await caught(c.dav.propfind('/x'));
    expect(e.kind).toBe('e2ee-unavailable');
    expect(e.detail).toContain('Forbidden');
    expect((await caught(c.dav.propfind('/x'))).kind).toBe('server');
  });
});

describe('GET', () => {
  it('streams the body with size and progress', async () => {
    const data = new Uint8Array(1000).map((_, i) => i & 255);
    const { ff, c } = setup(
      new Response(data, { status: 200, headers: { 'Content-Length': '1000', ETag: '"abc"' } }),
    );
    const seen: number[] = [];
    const d = await c.dav.download('/F/u', { onProgress: (n, t) => seen.push(n, t ?? -1) });
    expect(ff.last).toMatchObject({ method: 'GET', url: `${DAV}/F/u` });
    expect(ff.last.headers['range']).toBeUndefined();
    expect(d.size).toBe(1000);
    expect(d.partial).toBe(false);
    expect(d.etag).toBe('abc');
    expect(await readAll(d.body)).toEqual(data);
    expect(seen[seen.length - 2]).toBe(1000);
    expect(seen[seen.length - 1]).toBe(1000);
  });

  it('sends a Range and reports a partial answer', async () => {
    const { ff, c } = setup(
      new Response(new Uint8Array([5, 6, 7]), {
        status: 206,
        headers: { 'Content-Length': '3', 'Content-Range': 'bytes 5-7/100' },
      }),
      new Response(new Uint8Array([1]), { status: 206 }),
    );
    const d = await c.dav.download('/f', { range: { start: 5, end: 7 } });
    expect(ff.last.headers['range']).toBe('bytes=5-7');
    expect(d).toMatchObject({ partial: true, size: 3, totalSize: 100 });
    expect(await readAll(d.body)).toEqual(new Uint8Array([5, 6, 7]));
    await c.dav.download('/f', { range: { start: 9 } });
    expect(ff.last.headers['range']).toBe('bytes=9-');
    await expect(c.dav.download('/f', { range: { start: 9, end: 3 } })).rejects.toThrow(CipherfoldError);
  });

  it('abort during the body → cancelled', async () => {
    const ac = new AbortController();
    let ctl: ReadableStreamDefaultController<Uint8Array> | undefined;
    const src = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
    const { c } = setup(new Response(src, { status: 200 }));
    const d = await c.dav.download('/f', { signal: ac.signal });
    const reader = d.body.getReader();
    ctl!.enqueue(new Uint8Array([1, 2]));
    expect((await reader.read()).value).toEqual(new Uint8Array([1, 2]));
    const pending = reader.read();
    ac.abort();
    ctl!.error(new DOMException('aborted', 'AbortError'));
    const e = await caught(pending);
    expect(e.kind).toBe('cancelled');
  });

  it('404 → not-found', async () => {
    const { c } = setup(new Response('', { status: 404 }));
    expect((await caught(c.dav.download('/nope'))).kind).toBe('not-found');
  });
});

describe('writes', () => {
  it('PUT bytes with e2e-token; file id from OC-FileId', async () => {
    const { ff, c } = setup(
      new Response(null, { status: 201, headers: { 'OC-FileId': '00001212oc8e1fm1to3o', ETag: '"e"' } }),
    );
    const seen: [number, number | undefined][] = [];
    const r = await c.dav.upload('/F/u', new Uint8Array([1, 2, 3]), {
      token: TOKEN,
      onProgress: (a, b) => seen.push([a, b]),
    });
    expect(r).toEqual({ fileId: '1212', etag: 'e' });
    expect(ff.last).toMatchObject({ method: 'PUT', url: `${DAV}/F/u`, bodyWasStream: false });
    expect(ff.last.bodyBytes).toEqual(new Uint8Array([1, 2, 3]));
    expect(ff.last.headers['e2e-token']).toBe(TOKEN);
    expect(ff.last.headers['x-e2ee-supported']).toBe('true');
    expect(ff.last.headers['content-type']).toBe('application/octet-stream');
    expect(seen).toEqual([
      [0, 3],
      [3, 3],
    ]);
  });

  it('PUT a stream with duplex half and progress; no token header when none given', async () => {
    const { ff, c } = setup(new Response(null, { status: 204 }));
    const src = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(new Uint8Array([1, 2]));
        ctl.enqueue(new Uint8Array([3]));
        ctl.close();
      },
    });
    const seen: number[] = [];
    const r = await c.dav.upload('/plain.bin', src, { size: 3, onProgress: (a) => seen.push(a) });
    expect(r.fileId).toBeUndefined();
    expect(ff.last).toMatchObject({ method: 'PUT', duplex: 'half', bodyWasStream: true });
    expect(ff.last.bodyBytes).toEqual(new Uint8Array([1, 2, 3]));
    expect(ff.last.headers['e2e-token']).toBeUndefined();
    expect(seen).toEqual([2, 3]);
  });

  it('MKCOL returns the file id; 423/403 from Sabre map to locked/permission', async () => {
    const locked = `<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked</s:exception><s:message>resource not locked or wrong token sent</s:message></d:error>`;
    const noToken = `<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:message>Write access to end-to-end encrypted folder requires token - no token sent</s:message></d:error>`;
    const { ff, c } = setup(
      new Response(null, { status: 201, headers: { 'OC-FileId': '00000077ocabc' } }),
      new Response(locked, { status: 423 }),
      new Response(noToken, { status: 403 }),
    );
    expect(await c.dav.mkcol('/F/sub', { token: TOKEN })).toBe('77');
    expect(ff.last).toMatchObject({ method: 'MKCOL', url: `${DAV}/F/sub` });
    expect(ff.last.headers['e2e-token']).toBe(TOKEN);
    expect((await caught(c.dav.mkcol('/F/sub'))).kind).toBe('locked');
    expect((await caught(c.dav.mkcol('/F/sub'))).kind).toBe('permission');
  });

  it('MOVE / COPY: absolute Destination, Overwrite, token', async () => {
    const { ff, c } = setup(
      new Response(null, { status: 201 }),
      new Response(null, { status: 204 }),
      new Response(null, { status: 412 }),
    );
    await c.dav.move('/A/x y', '/B/x y', { token: TOKEN });
    expect(ff.last).toMatchObject({ method: 'MOVE', url: `${DAV}/A/x%20y` });
    expect(ff.last.headers['destination']).toBe(`${DAV}/B/x%20y`);
    expect(ff.last.headers['overwrite']).toBe('F');
    expect(ff.last.headers['e2e-token']).toBe(TOKEN);
    await c.dav.copy('/A/x', '/B/x', { overwrite: true });
    expect(ff.last).toMatchObject({ method: 'COPY', url: `${DAV}/A/x` });
    expect(ff.last.headers['overwrite']).toBe('T');
    expect((await caught(c.dav.move('/A', '/B'))).kind).toBe('conflict');
  });

  it('DELETE with X-NC-Skip-Trashbin and token', async () => {
    const { ff, c } = setup(new Response(null, { status: 204 }), new Response(null, { status: 204 }));
    await c.dav.delete('/F/u', { token: TOKEN, skipTrashbin: true });
    expect(ff.last).toMatchObject({ method: 'DELETE', url: `${DAV}/F/u` });
    expect(ff.last.headers['x-nc-skip-trashbin']).toBe('true');
    expect(ff.last.headers['e2e-token']).toBe(TOKEN);
    await c.dav.delete('/F/v');
    expect(ff.last.headers['x-nc-skip-trashbin']).toBeUndefined();
  });
});

describe('chunked upload v2', () => {
  const ok = (status: number, headers: Record<string, string> = {}): Response =>
    new Response(null, { status, headers });

  it('MKCOL + numbered PUTs + MOVE .file with Destination and OC-Total-Length', async () => {
    const { ff, c } = setup(ok(201), ok(201), ok(201), ok(201), ok(201, { 'OC-FileId': '00000099ocx' }));
    const data = new Uint8Array(10).map((_, i) => i);
    const progress: number[] = [];
    const r = await c.dav.uploadChunked('/F/big file', data, {
      size: 10,
      chunkSize: 4,
      token: TOKEN,
      onProgress: (n) => progress.push(n),
    });
    expect(r.fileId).toBe('99');
    const [mk, p1, p2, p3, mv] = ff.requests;
    const dir = mk!.url;
    expect(dir).toMatch(new RegExp(`^${BASE}/remote\\.php/dav/uploads/alice/cipherfold-[0-9a-f]{32}$`));
    expect(mk!.method).toBe('MKCOL');
    const dest = `${DAV}/F/big%20file`;
    for (const rq of ff.requests) {
      expect(rq.headers['destination']).toBe(dest);
      expect(rq.headers['e2e-token']).toBe(TOKEN);
      expect(rq.headers['x-e2ee-supported']).toBe('true');
    }
    expect([p1, p2, p3].map((p) => [p!.method, p!.url, p!.headers['oc-total-length']])).toEqual([
      ['PUT', `${dir}/00001`, '10'],
      ['PUT', `${dir}/00002`, '10'],
      ['PUT', `${dir}/00003`, '10'],
    ]);
    expect([...p1!.bodyBytes!, ...p2!.bodyBytes!, ...p3!.bodyBytes!]).toEqual([...data]);
    expect(p3!.bodyBytes).toHaveLength(2);
    expect(mv).toMatchObject({ method: 'MOVE', url: `${dir}/.file` });
    expect(mv!.headers['oc-total-length']).toBe('10');
    expect(progress).toEqual([0, 4, 8, 10]);
  });

  it('re-chunks an irregular stream', async () => {
    const { ff, c } = setup(ok(201), ok(201), ok(201), ok(201), ok(201));
    const src = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (const part of [[1], [2, 3, 4, 5, 6], [7]]) ctl.enqueue(new Uint8Array(part));
        ctl.close();
      },
    });
    await c.dav.uploadChunked('/f', src, { size: 7, chunkSize: 3 });
    expect(ff.requests.slice(1, 4).map((r) => [...r.bodyBytes!])).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(ff.requests[1]!.headers['e2e-token']).toBeUndefined();
  });

  it('cleans up the upload folder on failure and on size mismatch', async () => {
    const { ff, c } = setup(ok(201), ok(507), ok(204), ok(201), ok(201), ok(204));
    expect((await caught(c.dav.uploadChunked('/f', new Uint8Array(8), { size: 8, chunkSize: 4 }))).kind).toBe(
      'server',
    );
    expect(ff.requests.map((r) => r.method)).toEqual(['MKCOL', 'PUT', 'DELETE']);
    expect(ff.requests[2]!.url).toBe(ff.requests[0]!.url);
    expect((await caught(c.dav.uploadChunked('/f', new Uint8Array(3), { size: 8, chunkSize: 4 }))).kind).toBe(
      'format',
    );
    expect(ff.requests.slice(3).map((r) => r.method)).toEqual(['MKCOL', 'PUT', 'DELETE']);
  });
});
