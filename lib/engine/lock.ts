/**
 * Lock discipline for every write to an encrypted folder (protocol §6.7, §9.17, G-10, G-28, G-29):
 *
 *   lock(counter = inner counter + 1) → work (payload writes, metadata of EVERY touched folder, same token)
 *   → unlock; on any failure → make every folder with staged DAV writes "touched" → unlock(abort=true).
 *
 * - `conflict` from the lock call (412 on the app's main branch, 500 on Nextcloud 31) means someone
 *   committed in between (or the server's counter drifted above ours): re-open + re-verify the folder and
 *   retry with a higher counter, up to `conflictAttempts` times.
 * - `locked` (423) means another client holds the lock right now: back off and retry a few times, then
 *   give up with a `locked` error.
 * - Only folders whose metadata was written under the token are finalised or reverted at unlock (G-10);
 *   staged files in other folders would stay hidden and resurface later (observed on NC 31). So before an
 *   abort, every folder with staged DAV writes but no metadata write is "touched" by writing its current
 *   committed document back unchanged (it is discarded by the abort anyway).
 * - A failed unlock after the work succeeded is reported as `UnlockFailedError`, which carries what is
 *   needed to finish it (`retryUnlock`). Nothing is persisted here.
 */
import { CipherfoldError, fail, isCipherfoldError } from '../errors';
import type { FileId, LockToken, NextcloudClient } from '../nextcloud';
import { nextCounter } from '../protocol/metadata';

export interface LockPolicy {
  /** Lock attempts after counter conflicts (each after a re-open + re-verify). Default 6. */
  conflictAttempts?: number;
  /** Lock attempts while another client holds the lock (423). Default 4. */
  lockedAttempts?: number;
  /** Wait before the n-th retry after a 423 (n ≥ 1). Default 300 ms · 2^(n-1), at most 5 s, ±20 %. */
  backoffMs?: (attempt: number) => number;
  /** Injectable for tests. Must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

export interface LockCycle {
  readonly folderId: FileId;
  readonly token: LockToken;
  /** The value sent as `X-NC-E2EE-COUNTER`: write it as the locked folder's inner counter. */
  readonly counter: number;
  /** 1-based number of lock calls made for this cycle. */
  readonly attempts: number;
  /** Record a staged DAV write (PUT, MKCOL, DELETE, COPY/MOVE destination) inside `folderId`. */
  staged(folderId: FileId): void;
  /** Record a metadata write (POST/PUT/DELETE meta-data) for `folderId` under this token. */
  touched(folderId: FileId): void;
  /**
   * If the work fails after this call, unlock normally instead of aborting: the work has already written a
   * compensating state (e.g. deleted an unstaged chunked upload and rewritten the unchanged metadata).
   */
  commitOnFailure(): void;
}

export interface LockedResult<T> {
  readonly value: T;
  readonly counter: number;
  readonly attempts: number;
}

export interface LockSpec<S, T> {
  folderId: FileId;
  /** The verified state the caller has now. */
  state: S;
  /** Inner metadata counter of the locked folder in `state`. */
  counterOf: (state: S) => number;
  /** Re-open and re-verify (after a counter conflict). */
  reload: () => Promise<S>;
  work: (cycle: LockCycle, state: S) => Promise<T>;
  policy?: LockPolicy | undefined;
}

/** The work succeeded (metadata written) but the unlock did not: the changes are not visible yet. */
export class UnlockFailedError extends CipherfoldError {
  readonly folderId: FileId;
  readonly token: LockToken;

  constructor(folderId: FileId, token: LockToken, cause: unknown) {
    const kind = isCipherfoldError(cause) ? cause.kind : 'network';
    super(
      kind,
      'Your changes were uploaded, but the folder could not be unlocked, so they are not visible yet. The connection may have dropped or the lock may have expired. Try again to finish; if that fails, reload the folder and repeat the change.',
      { detail: 'unlock-failed', cause },
    );
    this.name = 'UnlockFailedError';
    this.folderId = folderId;
    this.token = token;
  }
}

/** Finishes the unlock that an `UnlockFailedError` reported (commits the staged changes). */
export async function retryUnlock(client: NextcloudClient, e: UnlockFailedError): Promise<void> {
  await client.e2ee.unlock(e.folderId, e.token);
}

export const DEFAULT_LOCK_POLICY = {
  conflictAttempts: 6,
  lockedAttempts: 4,
  backoffMs: (n: number): number => Math.min(5000, 300 * 2 ** (n - 1)) * (0.8 + Math.random() * 0.4),
  sleep: (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(cancelled());
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(t);
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
} as const;

function cancelled(): CipherfoldError {
  return fail('cancelled', 'The change was cancelled before the folder was locked. Nothing was changed.');
}

function lockedError(cause: unknown): CipherfoldError {
  return fail(
    'locked',
    'Another device is changing this folder right now. Nothing was changed. Wait a moment and try again.',
    { cause, detail: 'lock: 423 after retries' },
  );
}

function conflictError(cause: unknown): CipherfoldError {
  return fail(
    'conflict',
    'The folder kept changing while Cipherfold tried to lock it. Another device may be writing to it, or the server counter is out of step. Nothing was changed; reload the folder and try again.',
    { cause, detail: 'lock: counter conflict after retries' },
  );
}

/** Runs one lock cycle on `spec.folderId` with the retry rules above. */
export async function withFolderLock<S, T>(
  client: NextcloudClient,
  spec: LockSpec<S, T>,
): Promise<LockedResult<T>> {
  const p = { ...DEFAULT_LOCK_POLICY, ...(spec.policy ?? {}) };
  let state = spec.state;
  let bump = 0;
  let conflicts = 0;
  let lockedTries = 0;
  let attempts = 0;
  let token: LockToken | undefined;
  let counter = 0;
  for (;;) {
    if (p.signal?.aborted) throw cancelled();
    counter = nextCounter(spec.counterOf(state), bump);
    attempts++;
    try {
      token = await client.e2ee.lock(spec.folderId, counter, { signal: p.signal });
      break;
    } catch (e) {
      if (isCipherfoldError(e, 'conflict')) {
        if (++conflicts >= p.conflictAttempts) throw conflictError(e);
        const before = spec.counterOf(state);
        state = await spec.reload();
        // Unchanged document but the server refuses our counter: its counter drifted above the inner one
        // (§6.7; other clients may lock with other numbers) → jump higher, doubling: +1, +3, +7, +15, …
        if (spec.counterOf(state) <= before) bump = bump * 2 + 1;
        continue;
      }
      if (isCipherfoldError(e, 'locked')) {
        if (++lockedTries >= p.lockedAttempts) throw lockedError(e);
        await p.sleep(p.backoffMs(lockedTries), p.signal);
        continue;
      }
      throw e;
    }
  }
  const staged = new Set<FileId>();
  const touched = new Set<FileId>();
  let commitAnyway = false;
  const cycle: LockCycle = {
    folderId: spec.folderId,
    token,
    counter,
    attempts,
    staged: (id) => void staged.add(id),
    touched: (id) => void touched.add(id),
    commitOnFailure: () => {
      commitAnyway = true;
    },
  };
  let value: T;
  try {
    value = await spec.work(cycle, state);
  } catch (e) {
    await endAfterFailure(client, spec.folderId, token, staged, touched, commitAnyway);
    throw e;
  }
  try {
    await client.e2ee.unlock(spec.folderId, token);
  } catch (e) {
    throw new UnlockFailedError(spec.folderId, token, e);
  }
  return { value, counter, attempts };
}

/**
 * Failure path: touch every folder with staged DAV writes (G-10) by writing back its committed document
 * unchanged, then unlock with abort (or commit when the work asked for it). Best effort: when this fails
 * too, the server's rollback job reverts the locked folder after its TTL (§9.18).
 */
async function endAfterFailure(
  client: NextcloudClient,
  folderId: FileId,
  token: LockToken,
  staged: ReadonlySet<FileId>,
  touched: ReadonlySet<FileId>,
  commit: boolean,
): Promise<void> {
  if (!commit) {
    for (const id of staged) {
      if (touched.has(id)) continue;
      try {
        const { metadata, signature } = await client.e2ee.getMetadata(id);
        await client.e2ee.updateMetadata(id, metadata, signature, token);
      } catch {
        /* new folder without committed metadata, or the server is gone: nothing more to do */
      }
    }
  }
  await client.e2ee.unlock(folderId, token, { abort: !commit }).catch(() => undefined);
}
