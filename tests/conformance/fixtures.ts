/** Shared setup steps built from raw requests: test directories, encrypted folders, locks with cleanup. */
import { afterEach, expect } from 'vitest';
import {
  Client,
  E2E,
  expectOcsOk,
  expectStatus,
  fileIdFromHeader,
  NS_OC,
  parseMultistatus,
  propText,
  rand,
  type OcsRes,
} from './http';

// ---------------------------------------------------------------------------------------------------------------
// Locks: every lock taken through `lock()` is released (abort=true) after each test, so failures do not cascade.

interface Held {
  c: Client;
  id: number;
  token: string;
}
const held: Held[] = [];

export function useLockCleanup(): void {
  afterEach(async () => {
    while (held.length) {
      const h = held.pop()!;
      await h.c.ocs('DELETE', `${E2E}/lock/${h.id}`, {
        query: { abort: 'true' },
        headers: { 'e2e-token': h.token },
      });
    }
  });
}

/** POST lock/{id}; remembers the token for cleanup when it succeeds. */
export async function lock(
  c: Client,
  id: number,
  counter: number | undefined,
  extra: { token?: string; tokenIn?: 'query' | 'form' | 'json' | 'header' } = {},
): Promise<OcsRes> {
  const headers: Record<string, string> =
    counter === undefined ? {} : { 'x-nc-e2ee-counter': String(counter) };
  const o: Parameters<Client['ocs']>[2] = { headers };
  if (extra.token) {
    const where = extra.tokenIn ?? 'form';
    if (where === 'query') o.query = { 'e2e-token': extra.token };
    if (where === 'form') o.form = { 'e2e-token': extra.token };
    if (where === 'json') o.json = { 'e2e-token': extra.token };
    if (where === 'header') headers['e2e-token'] = extra.token;
  }
  const r = await c.ocs('POST', `${E2E}/lock/${id}`, o);
  const token = tokenOf(r);
  if (r.status === 200 && token && !held.some((h) => h.token === token && h.id === id))
    held.push({ c, id, token });
  return r;
}

export function tokenOf(r: OcsRes): string | undefined {
  const d = r.data as { 'e2e-token'?: unknown } | undefined;
  return typeof d?.['e2e-token'] === 'string' ? d['e2e-token'] : undefined;
}

/** Lock that must succeed; returns the token. */
export async function mustLock(c: Client, id: number, counter: number): Promise<string> {
  const r = await lock(c, id, counter);
  expectOcsOk(r);
  const t = tokenOf(r);
  expect(t).toMatch(/^[A-Za-z0-9]{64}$/);
  return t!;
}

export async function unlock(
  c: Client,
  id: number,
  token: string | undefined,
  abort = false,
): Promise<OcsRes> {
  const r = await c.ocs('DELETE', `${E2E}/lock/${id}`, {
    ...(abort ? { query: { abort: 'true' } } : {}),
    headers: token === undefined ? {} : { 'e2e-token': token },
  });
  if (r.status === 200) {
    const i = held.findIndex((h) => h.id === id && h.token === token);
    if (i >= 0) held.splice(i, 1);
  }
  return r;
}

export async function mustUnlock(c: Client, id: number, token: string, abort = false): Promise<void> {
  expectOcsOk(await unlock(c, id, token, abort));
}

// ---------------------------------------------------------------------------------------------------------------
// Metadata stand-ins. The server does not validate metadata, so opaque but realistic text is enough.

/** A v2-shaped metadata document (not real ciphertext); contains '/' so PHP re-encoding is observable. */
export function fakeMetadata(users: string[] = [], tag = rand(4)): string {
  const b64 = Buffer.from(`ciphertext-${tag}-`.repeat(4)).toString('base64');
  const doc: Record<string, unknown> = {
    metadata: {
      ciphertext: `${b64}/+${tag}==`,
      nonce: 'AAECAwQFBgcICQoL',
      authenticationTag: 'q83vEjRWeJCrze8SNFZ4kA==',
    },
    version: '2.0',
  };
  if (users.length) {
    doc.users = users.map((u) => ({
      userId: u,
      certificate: '-----BEGIN CERTIFICATE-----\nMIIBfake/cert+' + tag + '\n-----END CERTIFICATE-----\n',
      encryptedMetadataKey: 'a2V5/' + tag,
    }));
  }
  return JSON.stringify(doc);
}

export function fakeSignature(tag = rand(8)): string {
  return Buffer.from(`cms-signature-${tag}`).toString('base64');
}

export async function postMetadata(
  c: Client,
  id: number,
  token: string,
  text: string,
  sig: string,
): Promise<OcsRes> {
  return c.ocs('POST', `${E2E}/meta-data/${id}`, {
    form: { metaData: text },
    headers: { 'e2e-token': token, 'x-nc-e2ee-signature': sig },
  });
}

export async function putMetadata(
  c: Client,
  id: number,
  token: string,
  text: string,
  sig: string,
): Promise<OcsRes> {
  return c.ocs('PUT', `${E2E}/meta-data/${id}`, {
    form: { metaData: text },
    headers: { 'e2e-token': token, 'x-nc-e2ee-signature': sig },
  });
}

export async function getMetadata(c: Client, id: number): Promise<OcsRes> {
  return c.ocs('GET', `${E2E}/meta-data/${id}`);
}

export function metadataText(r: OcsRes): string | undefined {
  const d = r.data as { 'meta-data'?: unknown } | undefined;
  return typeof d?.['meta-data'] === 'string' ? d['meta-data'] : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Folders

/** MKCOL; returns the numeric file id (from OC-FileId, falling back to PROPFIND oc:fileid). */
export async function mkcol(c: Client, path: string, token?: string): Promise<number> {
  const r = await c.dav('MKCOL', path, token ? { token } : {});
  expectStatus(r, 201);
  return fileIdFromHeader(r.headers.get('oc-fileid')) ?? (await fileIdOf(c, path));
}

export async function fileIdOf(c: Client, path: string): Promise<number> {
  const r = await c.dav('PROPFIND', path, {
    depth: '0',
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="${NS_OC}"><d:prop><oc:fileid/></d:prop></d:propfind>`,
  });
  expectStatus(r, 207);
  const id = Number(propText(parseMultistatus(r.text)[0], 'oc:fileid'));
  expect(Number.isInteger(id) && id > 0).toBe(true);
  return id;
}

/** A fresh plain directory below the user's root, unique per test. */
export async function newDir(c: Client, prefix = 't'): Promise<string> {
  const path = `/cf-${prefix}-${rand(5)}`;
  await mkcol(c, path);
  return path;
}

export interface EncryptedFolder {
  id: number;
  path: string;
  metadata: string;
  signature: string;
}

/** MKCOL + PUT encrypted/{id}; optionally commits a first metadata document (lock 1, POST, unlock). */
export async function makeEncryptedFolder(
  c: Client,
  parent: string,
  opts: { name?: string; withMetadata?: boolean } = {},
): Promise<EncryptedFolder> {
  const path = `${parent}/${opts.name ?? 'enc-' + rand(4)}`;
  const id = await mkcol(c, path);
  expectOcsOk(await c.ocs('PUT', `${E2E}/encrypted/${id}`));
  const metadata = fakeMetadata([c.id]);
  const signature = fakeSignature();
  if (opts.withMetadata !== false) {
    const token = await mustLock(c, id, 1);
    expectOcsOk(await postMetadata(c, id, token, metadata, signature));
    await mustUnlock(c, id, token);
  }
  return { id, path, metadata, signature };
}

/** Puts a file into a plain folder (no token). */
export async function putPlain(c: Client, path: string, body: string | Uint8Array): Promise<void> {
  expectStatus(await c.dav('PUT', path, { body }), [201, 204]);
}
