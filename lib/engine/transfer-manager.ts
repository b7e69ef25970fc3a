/**
 * The engine's list of transfers (uploads, downloads, zips): each runs in the engine, not in the page
 * that started it, so closing the folder view does not stop it. Progress (bytes, speed), cancel, and how it
 * ended, for the popup and the folder view. Uploads run one after another (each takes the folder lock);
 * downloads run side by side. Pure TypeScript.
 */
import { isCipherfoldError } from '../errors';
import {
  isTransferFinished,
  type TransferKind,
  type TransferState,
  type TransferView,
} from '../messages/folder';
import type { TransferProgress } from './transfers';

export interface TransferContext {
  readonly signal: AbortSignal;
  onProgress(p: TransferProgress): void;
  /** The bytes are all there and verified; the result is being handed over (saved, delivered). */
  saving(): void;
}

export interface TransferInit {
  kind: TransferKind;
  /** Decrypted name, shown only in extension pages. */
  name: string;
  total: number | null;
  /** The folder view that started it (it shows its own transfers). */
  viewId: string | null;
}

export interface TransferManagerOptions {
  now?: () => number;
  randomId: () => string;
  /** Finished transfers stay listed this long (default 30 minutes). */
  keepFinishedMs?: number;
}

interface Entry {
  view: TransferView;
  controller: AbortController;
}

const MAX_LISTED = 200;

export class TransferManager {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly randomId: () => string;
  private readonly keepFinishedMs: number;
  private uploadQueue: Promise<unknown> = Promise.resolve();

  constructor(options: TransferManagerOptions) {
    this.now = options.now ?? (() => Date.now());
    this.randomId = options.randomId;
    this.keepFinishedMs = options.keepFinishedMs ?? 30 * 60_000;
  }

  /**
   * Registers a transfer and starts `run` on the next tick (uploads: after the ones before them), so the
   * caller has the id first. Returns the id (`transferId` when given: an upload keeps its announced id).
   */
  start(
    init: TransferInit,
    run: (ctx: TransferContext) => Promise<{ resultId?: string; note?: string } | void>,
    transferId: string = this.randomId(),
  ): string {
    this.sweep();
    if (this.entries.has(transferId)) throw new Error('duplicate transfer id');
    const controller = new AbortController();
    const queued = init.kind === 'upload';
    const entry: Entry = {
      controller,
      view: {
        transferId,
        kind: init.kind,
        name: init.name,
        viewId: init.viewId,
        state: queued ? 'waiting' : 'running',
        bytes: 0,
        total: init.total,
        bytesPerSecond: 0,
        startedAt: this.now(),
        endedAt: null,
        message: null,
        errorKind: null,
        resultId: null,
      },
    };
    this.entries.set(transferId, entry);
    const ctx: TransferContext = {
      signal: controller.signal,
      onProgress: (p) => {
        const v = entry.view;
        v.bytes = p.bytes;
        if (p.total !== undefined) v.total = p.total;
        v.bytesPerSecond = Math.round(p.bytesPerSecond);
      },
      saving: () => {
        if (entry.view.state === 'running') entry.view.state = 'saving';
      },
    };
    const go = async (): Promise<void> => {
      if (controller.signal.aborted) return this.end(entry, 'cancelled', null);
      entry.view.state = 'running';
      entry.view.startedAt = this.now();
      try {
        const r = await run(ctx);
        entry.view.resultId = r && r.resultId !== undefined ? r.resultId : null;
        if (entry.view.total !== null) entry.view.bytes = entry.view.total;
        this.end(entry, 'done', r && r.note !== undefined ? r.note : null);
      } catch (e) {
        if (controller.signal.aborted || isCipherfoldError(e, 'cancelled')) {
          this.end(entry, 'cancelled', isCipherfoldError(e) ? e.message : 'Cancelled. Nothing was kept.');
        } else {
          entry.view.errorKind = isCipherfoldError(e) ? e.kind : 'internal';
          this.end(
            entry,
            'failed',
            isCipherfoldError(e)
              ? e.message
              : 'The transfer failed because of an unexpected problem. Nothing was kept. Try again.',
          );
        }
      }
    };
    if (queued) {
      const next = this.uploadQueue.then(go, go);
      this.uploadQueue = next.catch(() => undefined);
    } else {
      void Promise.resolve().then(go);
    }
    return transferId;
  }

  /** Newest first. */
  list(viewId?: string): TransferView[] {
    this.sweep();
    return [...this.entries.values()]
      .map((e) => ({ ...e.view }))
      .filter((v) => viewId === undefined || v.viewId === viewId)
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Stops a waiting or running transfer; a finished one is left as it ended. */
  cancel(transferId: string): void {
    const e = this.entries.get(transferId);
    if (!e || isTransferFinished(e.view.state)) return;
    e.controller.abort(new Error('cancelled by the user'));
    if (e.view.state === 'waiting') this.end(e, 'cancelled', 'Cancelled. Nothing was uploaded.');
  }

  /** Forgets finished transfers (all, or those of one view). */
  clearFinished(viewId?: string): void {
    for (const [id, e] of this.entries) {
      if (isTransferFinished(e.view.state) && (viewId === undefined || e.view.viewId === viewId))
        this.entries.delete(id);
    }
  }

  private end(entry: Entry, state: TransferState, message: string | null): void {
    if (isTransferFinished(entry.view.state)) return;
    entry.view.state = state;
    entry.view.message = message;
    entry.view.endedAt = this.now();
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, e] of this.entries) {
      if (e.view.endedAt !== null && now - e.view.endedAt > this.keepFinishedMs) this.entries.delete(id);
    }
    const finished = [...this.entries.values()].filter((e) => isTransferFinished(e.view.state));
    for (const e of finished.slice(0, Math.max(0, this.entries.size - MAX_LISTED))) {
      this.entries.delete(e.view.transferId);
    }
  }
}
