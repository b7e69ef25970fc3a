import { describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { VaultTrustStore } from '../../../lib/engine/vault-trust-store';
import { ACCOUNT, fakePem, freshVault } from '../vault/helpers';

async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isCipherfoldError(e) ? e.kind : `not a CipherfoldError: ${String(e)}`;
  }
}

describe('VaultTrustStore (what a device has seen survives restarts)', () => {
  it('keeps counters, fingerprints and checksum history across store instances and refuses rollback', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    const first = new VaultTrustStore(vault, acc.id);
    const sum = 'ab'.repeat(32);
    await first.setFolderState('101', {
      counter: { counter: 5, fingerprint: 'f5' },
      checksumHistory: [sum, '7'.repeat(60)], // a short Android-style checksum is padded (G-6)
      seenV2: true,
    });

    const second = new VaultTrustStore(async () => vault, acc.id); // e.g. after an engine restart
    const state = await second.getFolderState('101');
    expect(state?.counter).toEqual({ counter: 5, fingerprint: 'f5' });
    expect(state?.seenV2).toBe(true);
    expect(state?.checksumHistory).toEqual([sum, '0000' + '7'.repeat(60)]);
    expect(await second.getFolderState('999')).toBeUndefined();

    expect(await kindOf(second.setFolderState('101', { counter: { counter: 4, fingerprint: 'f4' } }))).toBe(
      'counter',
    );
    expect(
      await kindOf(second.setFolderState('101', { counter: { counter: 5, fingerprint: 'other' } })),
    ).toBe('counter');
    await second.setFolderState('101', { counter: { counter: 6, fingerprint: 'f6' } });
    expect((await first.getFolderState('101'))?.counter?.counter).toBe(6);
  });

  it('pins certificates on first use and lists them for the verifier', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    const store = new VaultTrustStore(vault, acc.id);
    const bob = fakePem();
    await store.addPins(new Map([['bob', bob]]));
    await store.addPins(new Map([['bob', fakePem()]])); // a different one later is not silently re-pinned
    const pins = await new VaultTrustStore(vault, acc.id).getPins();
    expect([...pins.keys()]).toEqual(['bob']);
    expect(pins.get('bob')).toBe(bob);
  });
});
