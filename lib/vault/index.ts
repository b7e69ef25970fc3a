/** Public API of the vault (docs/vault.md). */
export * from './types';
export { openVault, Vault, isVaultLocked, RECOVERY_WORD_COUNT } from './vault';
export type { OpenVaultOptions, NewAccount, NewKeys, NewDevice } from './vault';
export { AutoLock, systemClock, type Clock } from './auto-lock';
export { IdbKeyStore, MemoryKeyStore, type KeyStore } from './key-store';
export { DEFAULT_VAULT_NAME, VAULT_DB_VERSION, MIGRATIONS, type Migration } from './schema';
export { verifyChain, GENESIS_HASH } from './audit';
export { pemFingerprint } from './pins';
export { WORDS_KDF_ITERATIONS, deriveWordsKey, wordsPassword } from './wrapping';
