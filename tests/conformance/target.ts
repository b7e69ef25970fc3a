/**
 * Which server the conformance suite talks to.
 *
 * - `NEXTCLOUD_URL` set: a real Nextcloud. Each test file creates its own throwaway users (`cf<hex>`) through the
 *   provisioning API with `NEXTCLOUD_ADMIN_USER` / `NEXTCLOUD_ADMIN_PASSWORD`, paces its requests
 *   (`NEXTCLOUD_PACE_MS`, default 40 ms) and deletes the users again in `afterAll`.
 * - Otherwise: the in-process stand-in (`tests/server`), once per flavour (`main` = protocol.md,
 *   `nc31` = protocol-observed-nc31.md). Every test file gets fresh stand-in instances.
 */
import { afterAll, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { setPace } from './http';

export type Flavour = 'main' | 'nc31';
export type TargetKind = Flavour | 'real';

export interface TargetSpec {
  /** `main` / `nc31` (stand-in) or `real` (NEXTCLOUD_URL). */
  name: TargetKind;
}

export interface Account {
  id: string;
  password: string;
}

export interface Target {
  readonly kind: TargetKind;
  readonly real: boolean;
  /** Base URL without trailing slash. */
  readonly url: string;
  /** Three users, no E2EE keys, empty homes (as far as this suite is concerned). */
  readonly users: readonly [Account, Account, Account];
  readonly admin: Account | undefined;
  /** In-process control hooks of the stand-in (undefined for a real server). */
  readonly control: unknown;
  /**
   * The accepted value(s) for something the two documented server generations answer differently.
   * Stand-in flavours must match their own document exactly; a real server may be either generation.
   */
  expect<T>(byFlavour: { main: T; nc31: T }): T[];
}

export function targetSpecs(): TargetSpec[] {
  if (process.env.NEXTCLOUD_URL) return [{ name: 'real' }];
  return [{ name: 'main' }, { name: 'nc31' }];
}

export function isRealRun(): boolean {
  return Boolean(process.env.NEXTCLOUD_URL);
}

function hex(n: number): string {
  return randomBytes(n).toString('hex');
}

function basic(a: Account): string {
  return 'Basic ' + Buffer.from(`${a.id}:${a.password}`).toString('base64');
}

async function provision(url: string, admin: Account, user: Account): Promise<void> {
  const res = await fetch(`${url}/ocs/v2.php/cloud/users?format=json`, {
    method: 'POST',
    headers: {
      authorization: basic(admin),
      'ocs-apirequest': 'true',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ userid: user.id, password: user.password }).toString(),
  });
  if (res.status !== 200) {
    throw new Error(`Creating test user ${user.id} failed with HTTP ${res.status}: ${await res.text()}`);
  }
}

async function deprovision(url: string, admin: Account, user: Account): Promise<void> {
  await fetch(`${url}/ocs/v2.php/cloud/users/${encodeURIComponent(user.id)}?format=json`, {
    method: 'DELETE',
    headers: { authorization: basic(admin), 'ocs-apirequest': 'true' },
  }).catch(() => undefined);
}

interface Mutable {
  kind: TargetKind;
  url: string;
  users: [Account, Account, Account];
  admin: Account | undefined;
  control: unknown;
  close: () => Promise<void>;
}

/**
 * Registers beforeAll/afterAll hooks that bring up the target for the enclosing describe block and returns a
 * handle whose fields are valid inside tests.
 */
export function useTarget(spec: TargetSpec): Target {
  let state: Mutable | undefined;
  const get = (): Mutable => {
    if (!state) throw new Error('Conformance target is not started (used outside a test?).');
    return state;
  };

  beforeAll(async () => {
    if (spec.name === 'real') {
      const url = (process.env.NEXTCLOUD_URL ?? '').replace(/\/+$/, '');
      const adminId = process.env.NEXTCLOUD_ADMIN_USER;
      const adminPw = process.env.NEXTCLOUD_ADMIN_PASSWORD;
      if (!adminId || !adminPw) {
        throw new Error('NEXTCLOUD_URL is set but NEXTCLOUD_ADMIN_USER / NEXTCLOUD_ADMIN_PASSWORD are not.');
      }
      const admin = { id: adminId, password: adminPw };
      setPace(Number(process.env.NEXTCLOUD_PACE_MS ?? 40));
      const users = [0, 1, 2].map(() => ({ id: `cf${hex(5)}`, password: `Cf-${hex(12)}-pw!` })) as [
        Account,
        Account,
        Account,
      ];
      const created: Account[] = [];
      try {
        for (const u of users) {
          await provision(url, admin, u);
          created.push(u);
        }
      } catch (e) {
        for (const u of created) await deprovision(url, admin, u);
        throw e;
      }
      state = {
        kind: 'real',
        url,
        users,
        admin,
        control: undefined,
        close: async () => {
          for (const u of users) await deprovision(url, admin, u);
        },
      };
      return;
    }
    setPace(0);
    const { startStandIn } = await import('../server/index');
    const server = await startStandIn({ flavour: spec.name });
    state = {
      kind: spec.name,
      url: server.url.replace(/\/+$/, ''),
      users: [
        { id: 'alice', password: 'alice-password' },
        { id: 'bob', password: 'bob-password' },
        { id: 'carol', password: 'carol-password' },
      ],
      admin: { id: 'admin', password: 'admin-password' },
      control: server.control,
      close: () => server.close(),
    };
  });

  afterAll(async () => {
    const s = state;
    state = undefined;
    if (s) await s.close();
  });

  return {
    get kind() {
      return spec.name;
    },
    get real() {
      return spec.name === 'real';
    },
    get url() {
      return get().url;
    },
    get users() {
      return get().users;
    },
    get admin() {
      return get().admin;
    },
    get control() {
      return get().control;
    },
    expect<T>(byFlavour: { main: T; nc31: T }): T[] {
      if (spec.name === 'real') {
        return byFlavour.main === byFlavour.nc31 ? [byFlavour.main] : [byFlavour.main, byFlavour.nc31];
      }
      return [byFlavour[spec.name]];
    },
  };
}

/**
 * Skips the running test when `condition` holds, with a reason that shows up in the output: as the skip note
 * (`--reporter=verbose` prints it next to the test) and as a console line (printed by every reporter).
 */
export function skipWithReason(
  ctx: { skip: (condition: boolean, note?: string) => void; task: { name: string } },
  condition: boolean,
  reason: string,
): void {
  if (!condition) return;
  console.warn(`SKIPPED "${ctx.task.name}": ${reason}`);
  ctx.skip(true, reason);
}
