/**
 * What a device remembers to detect tampering across sessions: per-folder state (counters, key-checksum
 * history, "seen as 2.x") and TOFU pins of user certificates. The extension keeps it in the vault; the
 * CLI and tests use the in-memory store.
 */
import type { FolderState } from '../protocol/metadata';

export interface TrustStore {
  getFolderState(fileId: string): Promise<FolderState | undefined>;
  setFolderState(fileId: string, state: FolderState): Promise<void>;
  /** user id → certificate PEM pinned on first use. */
  getPins(): Promise<ReadonlyMap<string, string>>;
  addPins(pins: ReadonlyMap<string, string>): Promise<void>;
}

export class MemoryTrustStore implements TrustStore {
  readonly folders = new Map<string, FolderState>();
  readonly pins = new Map<string, string>();

  async getFolderState(fileId: string): Promise<FolderState | undefined> {
    return this.folders.get(fileId);
  }

  async setFolderState(fileId: string, state: FolderState): Promise<void> {
    this.folders.set(fileId, state);
  }

  async getPins(): Promise<ReadonlyMap<string, string>> {
    return this.pins;
  }

  async addPins(pins: ReadonlyMap<string, string>): Promise<void> {
    for (const [k, v] of pins) if (!this.pins.has(k)) this.pins.set(k, v);
  }
}
