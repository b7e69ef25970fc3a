/**
 * `cipherfold backup` failure modes before anything is downloaded: each gives one clear error kind, exit
 * code 1, and never prints the app password.
 */
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../cli/backup';
import { isCipherfoldError } from '../../lib/errors';
import { startStandIn, type StandIn } from '../server/index';
import { exists, runCli } from './fixture';

let srv: StandIn;
let tmp: string;
const WRONG = 'wrong-app-password-that-must-not-be-printed';

beforeAll(async () => {
  srv = await startStandIn();
  tmp = await mkdtemp(join(tmpdir(), 'cipherfold-cli-err-'));
  await writeFile(join(tmp, 'wrong'), WRONG + '\n');
  await writeFile(join(tmp, 'bob'), srv.control.createAppPassword('bob') + '\n');
  await writeFile(join(tmp, 'alice'), srv.control.createAppPassword('alice'));
});

afterAll(async () => {
  await srv?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function backupKind(server: string, passwordFile: string, user = 'alice'): Promise<string> {
  try {
    await runBackup({
      server,
      user,
      appPasswordFile: join(tmp, passwordFile),
      out: join(tmp, 'out'),
      log: () => undefined,
    });
  } catch (e) {
    if (isCipherfoldError(e)) return e.kind;
    throw e;
  }
  return 'ok';
}

async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('backup errors', () => {
  it('bad app password → auth (real CLI: exit 1, one error line, password not printed)', async () => {
    const r = await runCli([
      'backup',
      '--server',
      srv.url,
      '--user',
      'alice',
      '--app-password-file',
      join(tmp, 'wrong'),
      '--out',
      join(tmp, 'out'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: auth: /);
    expect(r.stderr).not.toContain(WRONG);
    expect(await exists(join(tmp, 'out', 'cipherfold-dump.json'))).toBe(false);
  });

  it('unreachable server (closed port) → network', async () => {
    expect(await backupKind(await closedPortUrl(), 'alice')).toBe('network');
  });

  it('capabilities without end-to-end encryption → e2ee-unavailable', async () => {
    const body = JSON.stringify({
      ocs: {
        meta: { status: 'ok', statuscode: 200, message: 'OK' },
        data: { version: { major: 31, minor: 0, micro: 6, string: '31.0.6' }, capabilities: { core: {} } },
      },
    });
    const rule = srv.control.forceStatus({
      method: 'GET',
      path: /\/cloud\/capabilities/,
      status: 200,
      body,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    try {
      expect(await backupKind(srv.url, 'alice')).toBe('e2ee-unavailable');
    } finally {
      srv.control.clearRule(rule);
    }
  });

  it('a web server that is not Nextcloud → e2ee-unavailable', async () => {
    const s = createServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html><body>Not Found</body></html>');
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = s.address() as AddressInfo;
      expect(await backupKind(`http://127.0.0.1:${port}`, 'alice')).toBe('e2ee-unavailable');
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('an account without encryption keys → not-found', async () => {
    expect(await backupKind(srv.url, 'bob', 'bob')).toBe('not-found');
  });

  it('empty password file → format', async () => {
    await writeFile(join(tmp, 'empty'), '\n');
    expect(await backupKind(srv.url, 'empty')).toBe('format');
  });
});
