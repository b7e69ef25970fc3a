/** Shared setup for engine tests: one stand-in per flavour, keys created once per user and test file. */
import { startStandIn, type StandIn } from '../../server/index';
import { NextcloudClient } from '../../../lib/nextcloud';
import { setupFirstDevice, type UserKeys } from '../../../lib/engine/keys';
import { E2eeSession } from '../../../lib/engine/folders';
import { MemoryTrustStore } from '../../../lib/engine/trust-store';
import { isCipherfoldError } from '../../../lib/errors';
import type { LockPolicy } from '../../../lib/engine/lock';

export type Flavour = 'main' | 'nc31';

export interface World {
  srv: StandIn;
  keys: Record<string, UserKeys>;
  /** A new client + session for a user (a new device-like object; trust store shared per user unless given). */
  session(user: string, opts?: { store?: MemoryTrustStore; lockPolicy?: LockPolicy }): E2eeSession;
  client(user: string): NextcloudClient;
  close(): Promise<void>;
}

/** Lock retries without real waiting. */
export const fastLocks: LockPolicy = { sleep: async () => undefined, lockedAttempts: 3, conflictAttempts: 3 };

export async function makeWorld(
  flavour: Flavour,
  users: string[] = ['alice'],
  dataDir?: string,
): Promise<World> {
  const srv = await startStandIn({ flavour, ...(dataDir === undefined ? {} : { dataDir }) });
  const passwords = new Map<string, string>();
  const client = (user: string): NextcloudClient => {
    let pw = passwords.get(user);
    if (pw === undefined) {
      pw = srv.control.createAppPassword(user);
      passwords.set(user, pw);
    }
    return new NextcloudClient({
      baseUrl: srv.url,
      auth: { loginName: user, appPassword: pw },
      userId: user,
    });
  };
  const keys: Record<string, UserKeys> = {};
  for (const u of users) keys[u] = await setupFirstDevice(client(u));
  const stores = new Map<string, MemoryTrustStore>();
  return {
    srv,
    keys,
    client,
    session(user, opts = {}) {
      let store = opts.store ?? stores.get(user);
      if (!store) stores.set(user, (store = new MemoryTrustStore()));
      return new E2eeSession(client(user), keys[user]!, store, { lockPolicy: opts.lockPolicy ?? fastLocks });
    },
    close: () => srv.close(),
  };
}

export async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isCipherfoldError(e)) return e.kind;
    throw e;
  }
}

export const enc = (s: string): Uint8Array<ArrayBuffer> =>
  new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>;
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

let n = 0;
/** A unique root name per test. */
export function rootName(prefix = 'root'): string {
  return `${prefix}-${++n}-${Math.random().toString(36).slice(2, 7)}`;
}

export function streamOf(data: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let o = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (o >= data.length) return c.close();
      c.enqueue(data.slice(o, o + chunk));
      o += chunk;
    },
  });
}

export interface TreeSnapshot {
  [name: string]: string | TreeSnapshot;
}

/**
 * Opens `path` and everything below it (verifying every document), downloads every file and returns
 * name → content (folders as nested objects). Fails on missing entries or orphans.
 */
export async function snapshot(s: E2eeSession, path: string): Promise<TreeSnapshot> {
  const f = await s.open(path);
  if (f.unknownEntries !== 0)
    throw new Error(`${f.unknownEntries} unknown entries in ${f.clearPath.join('/')}`);
  const out: TreeSnapshot = {};
  for (const e of f.entries) {
    if (e.missing) throw new Error(`missing entry ${e.name} in ${f.clearPath.join('/')}`);
    if (e.kind === 'file') out[e.name] = dec((await s.downloadFile(f, e.id)).data);
    else out[e.name] = await snapshot(s, `${f.ref.path}/${e.id}`);
  }
  return out;
}

export function source(name: string, text: string, mimetype = 'text/plain') {
  const data = enc(text);
  return { name, mimetype, size: data.length, stream: () => streamOf(data) };
}
