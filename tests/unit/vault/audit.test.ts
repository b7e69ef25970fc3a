import { ACCOUNT, freshVault } from './helpers';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { isCipherfoldError } from '../../../lib/errors';
import { GENESIS_HASH, openVault, type AuditEvent } from '../../../lib/vault';
import { canonicalJson, entryHash } from '../../../lib/vault/audit';

async function setup(count = 5) {
  const { vault, name } = await freshVault();
  const acc = await vault.createAccount(ACCOUNT);
  for (let i = 0; i < count; i++) await vault.appendAudit(acc.id, { type: 'words-revealed' });
  return { vault, name, id: acc.id };
}

describe('audit log', () => {
  it('chains entries: seq 1..n, prev = hash of the previous, first prev = zeros', async () => {
    const { vault, id } = await setup(3);
    const r = await vault.readAudit(id);
    expect(r.intact).toBe(true);
    expect(r.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(r.entries[0]!.prev).toBe(GENESIS_HASH);
    for (let i = 1; i < r.entries.length; i++) expect(r.entries[i]!.prev).toBe(r.entries[i - 1]!.hash);
    for (const e of r.entries) expect(entryHash(e)).toBe(e.hash);
    vault.close();
  });

  it('stays a valid chain under concurrent appends', async () => {
    const { vault, id } = await setup(0);
    await Promise.all(
      Array.from({ length: 25 }, () => vault.appendAudit(id, { type: 'key-unlocked', method: 'words' })),
    );
    const r = await vault.readAudit(id);
    expect(r.intact).toBe(true);
    expect(r.entries).toHaveLength(26);
    vault.close();
  });

  it('detects an edited entry', async () => {
    const { vault, name, id } = await setup();
    const db = await openDB(name);
    const e = await db.get('audit', [id, 3]);
    await db.put('audit', { ...e, event: { type: 'key-unlocked', method: 'words' } });
    db.close();
    const r = await vault.readAudit(id);
    expect(r).toMatchObject({ intact: false, firstBadSeq: 3 });
    vault.close();
  });

  it('detects an edited entry whose hash was recomputed (the next link breaks)', async () => {
    const { vault, name, id } = await setup();
    const db = await openDB(name);
    const e = await db.get('audit', [id, 3]);
    const forged = { ...e, at: e.at + 1 };
    forged.hash = entryHash(forged);
    await db.put('audit', forged);
    db.close();
    expect(await vault.readAudit(id)).toMatchObject({ intact: false, firstBadSeq: 4 });
    vault.close();
  });

  it('detects a deleted entry in the middle', async () => {
    const { vault, name, id } = await setup();
    const db = await openDB(name);
    await db.delete('audit', [id, 2]);
    db.close();
    expect(await vault.readAudit(id)).toMatchObject({ intact: false, firstBadSeq: 3 });
    vault.close();
  });

  it('detects an entry moved from another account', async () => {
    const { vault, name, id } = await setup(2);
    const other = await vault.createAccount({ ...ACCOUNT, userId: 'mallory' });
    const db = await openDB(name);
    const theirs = await db.get('audit', [other.id, 1]);
    await db.put('audit', { ...theirs, accountId: id, seq: 4 });
    db.close();
    expect(await vault.readAudit(id)).toMatchObject({ intact: false, firstBadSeq: 4 });
    vault.close();
  });

  it('refuses events with secret-looking or non-scalar fields', async () => {
    const { vault, id } = await setup(0);
    const bad = [
      { type: 'words-revealed', words: 'abandon ability' },
      { type: 'words-revealed', nested: { a: 1 } },
      { type: 'words-revealed', note: 'x'.repeat(600) },
    ] as unknown as AuditEvent[];
    for (const ev of bad) {
      const e = await vault.appendAudit(id, ev).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isCipherfoldError(e, 'internal')).toBe(true);
    }
    expect((await vault.readAudit(id)).entries).toHaveLength(1);
    vault.close();
  });

  it('persists across reopen and contains no secret', async () => {
    const { vault, name, id } = await setup(1);
    vault.close();
    const again = await openVault(name);
    const r = await again.readAudit(id);
    expect(r.intact).toBe(true);
    expect(JSON.stringify(r.entries)).not.toContain(ACCOUNT.appPassword);
    again.close();
  });

  it('canonical JSON sorts keys and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined })).toBe('{"a":[true,null,"x"],"b":1}');
  });
});
