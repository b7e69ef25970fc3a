/**
 * Nextcloud 31 + end_to_end_encryption stand-in: a loopback HTTP server for unit/conformance/e2e tests and
 * the product demo. See tests/server/README.md for the control API and the list of deviations.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Adversary, type FailRule, type ForceRule, type TamperFn, type UploadRewrite } from './adversary';
import { addUser as addUserImpl, authenticate, createAppPassword as createAppPasswordImpl } from './auth';
import { loadServerKeys } from './certs';
import type { Flavour, Srv } from './context';
import { deleteUser, handleCoreOcs, handleStatus } from './core';
import { handleDav } from './dav';
import { handleE2ee } from './e2ee';
import { sabreError } from './davxml';
import { send, type Ctx } from './http';
import { runRollbackJob } from './locks';
import { handleLoginFlow } from './loginflow';
import { ocs401, ocsSend } from './ocs';
import { handlePages } from './pages';
import { handleSharing } from './sharing';
import { Store, type MetaDoc } from './storage';
import { resolvePath } from './view';

export type { FailAction, FailRule, ForceRule, RequestMatcher, TamperFn } from './adversary';
export type { MetaDoc } from './storage';

export interface StandInUser {
  id: string;
  password: string;
  displayName?: string;
  email?: string;
}

export interface StandInOptions {
  port?: number;
  flavour?: 'main' | 'nc31';
  apiVersion?: '2.0' | '2.1';
  certificateHash?: 'SHA-256' | 'SHA-1';
  users?: StandInUser[];
  admin?: { id: string; password: string };
  dataDir?: string;
  hostilePage?: boolean;
  serverKeyPair?: CryptoKeyPair;
  log?: (line: string) => void;
}

export interface RequestLogEntry {
  method: string;
  /** pathname + search */
  path: string;
  status: number;
  user?: string;
}

export interface StandInControl {
  readonly flavour: Flavour;
  addUser(user: StandInUser): void;
  removeUser(userId: string): void;
  createAppPassword(userId: string): string;
  getServerPublicKeyPem(): string;
  /** numeric file id of a path in the user's view (own files and received share mounts), or undefined */
  fileIdOf(userId: string, path: string): number | undefined;
  setHostilePage(on: boolean): void;
  /** reports POSTed by the hostile page script (oldest first) */
  hostileReports(): unknown[];
  clearHostileReports(): void;
  /** committed metadata of a folder as stored (no adversary applied) */
  committedMetadata(folderId: number): MetaDoc | undefined;
  /** every committed version of a folder's metadata, oldest first */
  metadataHistory(folderId: number): MetaDoc[];
  /** serve history[version] (negative: from the end, -2 = the previous version) to readers from now on */
  replayMetadata(folderId: number, version: number): void;
  /** transform what readers get (OCS GET + PROPFIND) for a folder, until reset */
  tamperMetadata(folderId: number, fn: TamperFn): void;
  /** rewrite the stored committed metadata once (becomes a new history entry) */
  rewriteMetadata(folderId: number, fn: TamperFn): Promise<void>;
  /** serve this PEM from GET public-key for userId (null: stop forging) */
  forgeCertificate(userId: string, certificatePem: string | null): void;
  /** serve this SPKI PEM from GET server-key (null: the real key) */
  swapServerKey(spkiPem: string | null): void;
  /** store WebDAV PUT bodies whose path (in the user's files) matches after `fn` rewrote them, until reset */
  rewriteUploads(path: RegExp, fn: UploadRewrite): void;
  /** fail the next matching request(s) (default once); returns a rule id */
  failOnce(rule: FailRule): number;
  /** answer matching requests with a status (until cleared or `times` used up); returns a rule id */
  forceStatus(rule: ForceRule): number;
  clearRule(id: number): void;
  /** remove every replay/tamper/forgery/failure rule */
  resetAdversaries(): void;
  lockOf(folderId: number): { token: string; created: number } | undefined;
  /** the hourly rollback job of §9.18 for locks older than `olderThanSeconds` (default 0); returns folder ids */
  runRollbackJob(olderThanSeconds?: number): number[];
  /** request log (method, path, status, user); capped at 5000 entries */
  readonly requests: RequestLogEntry[];
  clearRequests(): void;
}

export interface StandIn {
  url: string;
  close(): Promise<void>;
  control: StandInControl;
}

const DEFAULT_USERS: StandInUser[] = [
  { id: 'alice', password: 'alice-password', displayName: 'Alice' },
  { id: 'bob', password: 'bob-password', displayName: 'Bob' },
  { id: 'carol', password: 'carol-password', displayName: 'Carol' },
];

export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const flavour: Flavour = options.flavour ?? 'main';
  const store = new Store(options.dataDir);
  const keys = await loadServerKeys(store.state.serverKey, options.serverKeyPair);
  store.state.serverKey = { pkcs8: keys.pkcs8, spkiPem: keys.spkiPem };
  store.markDirty();
  const srv: Srv = {
    store,
    flavour,
    apiVersion: options.apiVersion ?? (flavour === 'nc31' ? '2.0' : '2.1'),
    certHash: options.certificateHash ?? (flavour === 'nc31' ? 'SHA-1' : 'SHA-256'),
    keys,
    sessions: new Map(),
    flows: new Map(),
    hostile: { enabled: !!options.hostilePage, reports: [] },
    adversary: new Adversary(),
    anonServerKey: new Map(),
    uploads: new Map(),
    url: '',
    log: options.log,
  };
  for (const u of options.users ?? DEFAULT_USERS) {
    if (!store.state.users[u.id]) addUserImpl(srv, u);
  }
  const admin = options.admin ?? { id: 'admin', password: 'admin-password' };
  if (!store.state.users[admin.id]) addUserImpl(srv, { ...admin, displayName: 'Administrator' }, true);
  store.flush();

  const requests: RequestLogEntry[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let path: string;
      try {
        path = decodeURIComponent(url.pathname);
      } catch {
        path = url.pathname;
      }
      const ctx: Ctx = {
        req,
        res,
        method: (req.method ?? 'GET').toUpperCase(),
        url,
        path,
        rawPath: url.pathname,
        body: Buffer.concat(chunks),
      };
      dispatch(srv, ctx)
        .catch((e: unknown) => {
          srv.log?.(`error ${ctx.method} ${url.pathname}: ${e instanceof Error ? e.stack : String(e)}`);
          if (!res.headersSent) {
            if (path.startsWith('/ocs/'))
              ocsSend(
                ctx,
                500,
                { status: 'failure', statuscode: 996, message: 'Internal Server Error\n' },
                [],
              );
            else send(ctx, 500, 'Internal Server Error');
          }
        })
        .finally(() => {
          try {
            store.flush();
          } catch (e) {
            srv.log?.(`persist failed: ${String(e)}`);
          }
          const entry = {
            method: ctx.method,
            path: url.pathname + url.search,
            status: ctx.status ?? 0,
            user: ctx.user,
          };
          requests.push(entry);
          if (requests.length > 5000) requests.splice(0, requests.length - 5000);
          srv.log?.(`${entry.method} ${url.pathname} ${entry.status}${ctx.user ? ' ' + ctx.user : ''}`);
        });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  srv.url = `http://127.0.0.1:${port}`;

  const control: StandInControl = {
    flavour,
    addUser: (u) => {
      addUserImpl(srv, u);
      store.flush();
    },
    removeUser: (id) => {
      deleteUser(srv, id);
      store.flush();
    },
    createAppPassword: (uid) => {
      const pw = createAppPasswordImpl(srv, uid);
      store.flush();
      return pw;
    },
    getServerPublicKeyPem: () => keys.spkiPem,
    fileIdOf: (uid, p) => resolvePath(srv, uid, p)?.node.id,
    setHostilePage: (on) => {
      srv.hostile.enabled = on;
    },
    hostileReports: () => [...srv.hostile.reports],
    clearHostileReports: () => {
      srv.hostile.reports = [];
    },
    committedMetadata: (id) => store.peekE2ee(id)?.committed,
    metadataHistory: (id) => [...(store.peekE2ee(id)?.history ?? [])],
    replayMetadata: (id, version) => {
      srv.adversary.replay.set(id, version);
    },
    tamperMetadata: (id, fn) => {
      srv.adversary.tamper.set(id, fn);
    },
    rewriteMetadata: async (id, fn) => {
      const f = store.peekE2ee(id);
      if (!f?.committed) throw new Error(`folder ${id} has no committed metadata`);
      const next = await fn(f.committed.text, f.committed.signature);
      f.committed = { text: next.text, signature: next.signature };
      f.history.push(f.committed);
      store.markDirty();
      store.flush();
    },
    forgeCertificate: (uid, pem) => {
      if (pem === null) srv.adversary.forgedCerts.delete(uid);
      else srv.adversary.forgedCerts.set(uid, pem);
    },
    swapServerKey: (pem) => {
      srv.adversary.serverKeyPem = pem ?? undefined;
    },
    rewriteUploads: (path, fn) => {
      srv.adversary.uploadRewrites.push({ path, fn });
    },
    failOnce: (rule) => srv.adversary.addRule(rule, rule.action, rule.times ?? 1),
    forceStatus: (rule) =>
      srv.adversary.addRule(
        rule,
        { status: rule.status, body: rule.body, headers: rule.headers },
        rule.times ?? Number.POSITIVE_INFINITY,
      ),
    clearRule: (id) => srv.adversary.removeRule(id),
    resetAdversaries: () => srv.adversary.reset(),
    lockOf: (id) => {
      const l = store.lockOf(id);
      return l ? { token: l.token, created: l.created } : undefined;
    },
    runRollbackJob: (olderThan = 0) => {
      const ids = runRollbackJob(srv, olderThan);
      store.flush();
      return ids;
    },
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
  };

  return {
    url: srv.url,
    control,
    close: () =>
      new Promise<void>((resolve) => {
        store.flush();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function dispatch(srv: Srv, ctx: Ctx): Promise<void> {
  const adv = srv.adversary.match(ctx.method, ctx.url.pathname + ctx.url.search);
  if (adv) {
    if (adv === 'hang') return new Promise<void>((resolve) => ctx.req.socket.once('close', () => resolve()));
    if (adv === 'destroy') {
      ctx.status = -1;
      ctx.req.socket.destroy();
      return;
    }
    if (adv.body !== undefined) {
      send(ctx, adv.status, adv.body, { 'Content-Type': 'text/plain; charset=utf-8', ...adv.headers });
    } else if (ctx.path.startsWith('/ocs/')) {
      const code = adv.status >= 500 ? 996 : adv.status;
      ocsSend(
        ctx,
        adv.status,
        { status: 'failure', statuscode: code, message: adv.status >= 500 ? 'Internal Server Error\n' : '' },
        adv.status >= 500 ? [] : { message: 'Forced by the stand-in server' },
        adv.headers,
      );
    } else {
      send(ctx, adv.status, sabreError('Sabre\\DAV\\Exception', 'Forced by the stand-in server'), {
        'Content-Type': 'application/xml; charset=utf-8',
        ...adv.headers,
      });
    }
    return;
  }

  const credentialsOk = authenticate(srv, ctx);
  let p = ctx.path;
  if (p === '/status.php') return handleStatus(ctx);
  const ocsm = /^\/ocs\/v[12]\.php(\/.*)$/.exec(p);
  if (ocsm) {
    if (!credentialsOk) return ocs401(ctx);
    const rest = ocsm[1]!;
    const e2 = /^\/apps\/end_to_end_encryption\/api\/v([12])(\/.*)$/.exec(rest);
    if (e2) return handleE2ee(srv, ctx, Number(e2[1]) as 1 | 2, e2[2]!);
    if (rest.startsWith('/apps/files_sharing/api/v1/')) {
      if (await handleSharing(srv, ctx, rest.slice('/apps/files_sharing/api/v1'.length))) return;
    } else if (handleCoreOcs(srv, ctx, rest)) return;
    ocsSend(
      ctx,
      404,
      {
        status: 'failure',
        statuscode: 998,
        message:
          'Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.\n',
      },
      [],
    );
    return;
  }
  if (p.startsWith('/remote.php/') || p.startsWith('/public.php/')) {
    return handleDav(srv, ctx, credentialsOk);
  }
  if (p.startsWith('/index.php/')) p = p.slice('/index.php'.length);
  else if (p === '/index.php') p = '/';
  if (p.startsWith('/login/v2')) return handleLoginFlow(srv, ctx, p);
  if (await handlePages(srv, ctx, p)) return;
  send(ctx, 404, 'Not found', { 'Content-Type': 'text/plain' });
}
