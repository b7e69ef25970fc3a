/**
 * TrustStore backed by the vault, so what a device has seen survives restarts: per-folder counters with
 * their content fingerprint (replay and "changed without a new counter" detection), the key-checksum
 * history of each root, and TOFU pins of member certificates.
 */
import type { FolderState } from '../protocol/metadata';
import type { AccountId, Vault } from '../vault';
import type { TrustStore } from './trust-store';

/** Android writes short checksums (G-6); the vault keeps the canonical 64-digit form. */
function canonicalChecksum(c: string): string | undefined {
  const lower = c.trim().toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(lower)) return undefined;
  return lower.padStart(64, '0');
}

export class VaultTrustStore implements TrustStore {
  private readonly getVault: () => Promise<Vault>;

  constructor(
    vault: Vault | (() => Promise<Vault>),
    private readonly accountId: AccountId,
  ) {
    this.getVault = typeof vault === 'function' ? vault : () => Promise.resolve(vault);
  }

  async getFolderState(fileId: string): Promise<FolderState | undefined> {
    const rec = await (await this.getVault()).getFolderRecord(this.accountId, fileId);
    if (!rec) return undefined;
    return {
      counter: rec.digest === undefined ? undefined : { counter: rec.counter, fingerprint: rec.digest },
      checksumHistory: rec.checksums,
      // A stored counter only ever comes from 2.x metadata: a 1.x document for this folder is a downgrade.
      seenV2: rec.digest !== undefined,
    };
  }

  async setFolderState(fileId: string, state: FolderState): Promise<void> {
    const vault = await this.getVault();
    if (state.counter) {
      await vault.setCounter(this.accountId, fileId, state.counter.counter, state.counter.fingerprint);
    }
    if (state.checksumHistory && state.checksumHistory.length > 0) {
      const list = state.checksumHistory.map(canonicalChecksum).filter((c): c is string => c !== undefined);
      // The verifier passes the merged history (old ∪ current), so this never shrinks it.
      await vault.recordKeyChecksums(this.accountId, fileId, [...new Set(list)]);
    }
  }

  async getPins(): Promise<ReadonlyMap<string, string>> {
    return (await this.getVault()).listCertificates(this.accountId);
  }

  async addPins(pins: ReadonlyMap<string, string>): Promise<void> {
    const vault = await this.getVault();
    for (const [userId, pem] of pins) await vault.pinCertificate(this.accountId, userId, pem);
  }
}
