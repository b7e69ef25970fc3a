/**
 * Persistence of non-extractable CryptoKeys. Browsers structured-clone CryptoKeys into IndexedDB
 * (the key material stays inaccessible to script); `MemoryKeyStore` is for environments that cannot
 * (keys then last as long as the object).
 */
import type { VaultDb } from './schema';

export interface KeyStore {
  get(id: string): Promise<CryptoKey | undefined>;
  put(id: string, key: CryptoKey): Promise<void>;
  /** Stores `key` unless one exists; returns the stored key (so concurrent creators agree). */
  putIfAbsent(id: string, key: CryptoKey): Promise<CryptoKey>;
  delete(id: string): Promise<void>;
}

export const DEVICE_KEY_ID = 'device';
export const wordsKeyId = (accountId: string): string => `words:${accountId}`;

export class IdbKeyStore implements KeyStore {
  constructor(private readonly db: () => VaultDb) {}

  async get(id: string): Promise<CryptoKey | undefined> {
    return this.db().get('cryptoKeys', id);
  }

  async put(id: string, key: CryptoKey): Promise<void> {
    await this.db().put('cryptoKeys', key, id);
  }

  async putIfAbsent(id: string, key: CryptoKey): Promise<CryptoKey> {
    const tx = this.db().transaction('cryptoKeys', 'readwrite');
    const existing = await tx.store.get(id);
    if (existing) {
      await tx.done;
      return existing;
    }
    await tx.store.add(key, id);
    await tx.done;
    return key;
  }

  async delete(id: string): Promise<void> {
    await this.db().delete('cryptoKeys', id);
  }
}

export class MemoryKeyStore implements KeyStore {
  private readonly keys = new Map<string, CryptoKey>();

  async get(id: string): Promise<CryptoKey | undefined> {
    return this.keys.get(id);
  }

  async put(id: string, key: CryptoKey): Promise<void> {
    this.keys.set(id, key);
  }

  async putIfAbsent(id: string, key: CryptoKey): Promise<CryptoKey> {
    const existing = this.keys.get(id);
    if (existing) return existing;
    this.keys.set(id, key);
    return key;
  }

  async delete(id: string): Promise<void> {
    this.keys.delete(id);
  }
}
