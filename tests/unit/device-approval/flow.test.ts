import { describe, expect, it } from 'vitest';
import { createCipheriv, createECDH, hkdfSync } from 'node:crypto';
import { isCipherfoldError } from '../../../lib/errors';
import { fromUtf8, randomBytes, toBase64, utf8, type Bytes } from '../../../lib/crypto/bytes';
import {
  MemoryTransport,
  NewDeviceSession,
  TrustedDeviceSession,
  cleanupStale,
  commitmentOf,
  deriveSessionKey,
  encodeMessage,
  encodeSecret,
  sealSecret,
  fileName,
  generateEphemeralKeyPair,
  isApprovalError,
  listRequests,
  newRequestId,
  openSecret,
  secretAad,
  transcriptHash,
  verificationCode,
  type ApprovalFailure,
} from '../../../lib/device-approval';
import { SECRET, WORDS, editJson, memoryHandled, testClock, view } from './helpers';

const DEVICE = { name: 'Work laptop', browser: 'Firefox 153' };

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

async function expectReason(p: Promise<unknown>, reason: ApprovalFailure): Promise<void> {
  const e = await caught(p);
  expect(isApprovalError(e), String(e)).toBe(true);
  expect((e as { reason: string }).reason).toBe(reason);
}

/** Runs both sides to the point where both show a code. */
async function toCodes(
  opts: {
    server?: MemoryTransport;
    rewriteN?: (path: string, data: Bytes) => Bytes | null;
    rewriteT?: (path: string, data: Bytes) => Bytes | null;
    clock?: ReturnType<typeof testClock>;
  } = {},
) {
  const server = opts.server ?? new MemoryTransport();
  const clock = opts.clock ?? testClock();
  const tN = view(server, opts.rewriteN);
  const tT = view(server, opts.rewriteT);
  const handled = memoryHandled();
  const n = await NewDeviceSession.start({ transport: tN, device: DEVICE, now: clock.now });
  const t = await TrustedDeviceSession.answer({
    transport: tT,
    requestId: n.requestId,
    handled,
    now: clock.now,
  });
  await n.poll();
  await t.poll();
  return { server, clock, tN, tT, handled, n, t };
}

function codeOf(s: { state: { step: string } }): string | undefined {
  return (s.state as { code?: string }).code;
}

describe('device approval: happy path', () => {
  it('approves a device: same codes, secret delivered, keys dropped, files removed, no plaintext on the server', async () => {
    const server = new MemoryTransport();
    const clock = testClock();
    const tN = view(server);
    const tT = view(server);
    const handled = memoryHandled();

    const n = await NewDeviceSession.start({ transport: tN, device: DEVICE, now: clock.now });
    expect(n.state.step).toBe('waiting-for-answer');
    expect(await n.poll()).toEqual({ step: 'waiting-for-answer' });

    const { pending } = await listRequests(tT, { handled, now: clock.now });
    expect(pending).toEqual([
      { requestId: n.requestId, createdAt: clock.now(), expiresAt: clock.now() + 600_000, device: DEVICE },
    ]);

    const t = await TrustedDeviceSession.answer({
      transport: tT,
      requestId: n.requestId,
      handled,
      now: clock.now,
    });
    expect(await t.poll()).toEqual({ step: 'waiting-for-reveal' });
    expect(tT.puts.map((p) => p.path)).toEqual([fileName('answer', n.requestId)]); // only its public key

    const sn = await n.poll();
    expect(sn.step).toBe('confirm-code');
    expect(n.holdsPrivateKey).toBe(false);
    const st = await t.poll();
    expect(st.step).toBe('confirm-code');
    expect(t.holdsPrivateKey).toBe(false);
    expect(codeOf(n)).toMatch(/^\d{3} \d{3}$/);
    expect(codeOf(n)).toBe(codeOf(t));
    expect((await listRequests(tT, { handled, now: clock.now })).pending).toEqual([]);

    n.confirmCode();
    expect(await n.poll()).toMatchObject({ step: 'waiting-for-approval' });
    const { deviceId, device } = await t.approve(SECRET);
    expect(device).toEqual(DEVICE);
    expect(t.state).toEqual({ step: 'approved', deviceId });

    const done = await n.poll();
    expect(done).toEqual({ step: 'approved', secret: { ...SECRET, deviceId } });
    expect(server.files.size).toBe(0);

    const everything = [...tN.puts, ...tT.puts].map((p) => fromUtf8(p.data)).join('\n');
    for (const w of ['absurd', 'accident', 'alice']) expect(everything).not.toContain(w);
    expect(await n.poll()).toBe(done); // terminal states stay put
  });

  it('N holds an approval that arrives before the user confirmed the code', async () => {
    const { n, t } = await toCodes();
    await t.approve(SECRET);
    expect((await n.poll()).step).toBe('confirm-code');
    n.confirmCode();
    expect((await n.poll()).step).toBe('approved');
  });

  it('interoperates with an independent ECDH/HKDF/AES-GCM (node:crypto) on the trusted side', async () => {
    const requestId = newRequestId();
    const nKeys = await generateEphemeralKeyPair();
    const nonce = randomBytes(32);
    const node = createECDH('prime256v1');
    const pubT = new Uint8Array(node.generateKeys()) as Bytes;
    const t = {
      requestId,
      createdAt: 1,
      expiresAt: 2,
      device: DEVICE,
      commitment: await commitmentOf(nKeys.publicKey, nonce),
      newDeviceKey: nKeys.publicKey,
      trustedDeviceKey: pubT,
      nonce,
    };
    const th = await transcriptHash(t);
    const shared = node.computeSecret(Buffer.from(nKeys.publicKey));
    const key = Buffer.from(hkdfSync('sha256', shared, Buffer.from(requestId), Buffer.from(th), 32));
    const iv = randomBytes(12);
    const aad = secretAad(requestId, nKeys.publicKey, pubT);
    const c = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
    const ct = Buffer.concat([c.update('hello'), c.final(), c.getAuthTag()]);
    const sk = await deriveSessionKey(nKeys.privateKey, pubT, requestId, th);
    expect(fromUtf8(await openSecret(sk, aad, iv, new Uint8Array(ct) as Bytes))).toBe('hello');
  });
});

describe('device approval: a malicious server', () => {
  it('substituting the trusted device key (pubT) makes the codes differ', async () => {
    const attacker = await generateEphemeralKeyPair();
    let realPubT: string | undefined;
    const { n, t } = await toCodes({
      rewriteN: (path, data) =>
        path.startsWith('ans-')
          ? editJson(data, (o) => {
              realPubT = o.publicKey as string;
              o.publicKey = toBase64(attacker.publicKey);
            })
          : data,
      // keep T from noticing through peerPublicKey: show it its own key
      rewriteT: (path, data) =>
        path.startsWith('rev-') ? editJson(data, (o) => (o.peerPublicKey = realPubT)) : data,
    });
    expect(n.state.step).toBe('confirm-code');
    expect(t.state.step).toBe('confirm-code');
    expect(codeOf(n)).not.toBe(codeOf(t));
  });

  it('substituting the new device key (pubN) in the reveal breaks the commitment: T refuses and says so', async () => {
    const attacker = await generateEphemeralKeyPair();
    const server = new MemoryTransport();
    const handled = memoryHandled();
    const tT = view(server, (path, data) =>
      path.startsWith('rev-') ? editJson(data, (o) => (o.publicKey = toBase64(attacker.publicKey))) : data,
    );
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE });
    const t = await TrustedDeviceSession.answer({ transport: tT, requestId: n.requestId, handled });
    await n.poll();
    await expectReason(t.poll(), 'commitment-mismatch');
    expect(t.state.step).toBe('failed');
    expect(t.holdsPrivateKey).toBe(false);
    expect(await n.poll()).toEqual({ step: 'rejected', reason: 'commitment-mismatch' });
  });

  it('a full man-in-the-middle (own commitment to T, own key to N) gets codes that differ', async () => {
    for (let round = 0; round < 10; round++) {
      const s1 = await generateEphemeralKeyPair(); // plays T towards N
      const s2 = await generateEphemeralKeyPair(); // plays N towards T
      const nonceS = randomBytes(32);
      const commitS = await commitmentOf(s2.publicKey, nonceS);
      let pubT: string | undefined;
      const { n, t } = await toCodes({
        rewriteN: (path, data) =>
          path.startsWith('ans-')
            ? editJson(data, (o) => {
                pubT = o.publicKey as string;
                o.publicKey = toBase64(s1.publicKey);
              })
            : data,
        rewriteT: (path, data) => {
          if (path.startsWith('req-')) return editJson(data, (o) => (o.commitment = toBase64(commitS)));
          if (path.startsWith('rev-')) {
            return editJson(data, (o) => {
              o.publicKey = toBase64(s2.publicKey);
              o.nonce = toBase64(nonceS);
              o.peerPublicKey = pubT;
            });
          }
          return data;
        },
      });
      expect(t.state.step).toBe('confirm-code');
      expect(n.state.step).toBe('confirm-code');
      expect(codeOf(n)).not.toBe(codeOf(t));
    }
  });

  it('altering the device description seen by T changes the code', async () => {
    const { n, t } = await toCodes({
      rewriteT: (path, data) =>
        path.startsWith('req-')
          ? editJson(data, (o) => (o.device = { name: 'Phone', browser: 'Firefox 153' }))
          : data,
    });
    expect(t.request.device.name).toBe('Phone');
    expect(codeOf(n)).not.toBe(codeOf(t));
  });

  it('replaying an answer from another request is refused by N', async () => {
    const server = new MemoryTransport();
    const old = await toCodes({ server });
    const oldAnswer = old.tT.puts.find((p) => p.path.startsWith('ans-'))!.data;
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE });
    await server.put(fileName('answer', n.requestId), oldAnswer);
    await expectReason(n.poll(), 'replayed');
    expect(n.state.step).toBe('failed');
    expect(n.holdsPrivateKey).toBe(false);
    expect(server.files.has(fileName('request', n.requestId))).toBe(false);
  });

  it('replaying an old approval (requestId rewritten) does not decrypt', async () => {
    const server = new MemoryTransport();
    const a = await toCodes({ server });
    a.n.confirmCode();
    await a.t.approve(SECRET);
    const oldApproval = a.tT.puts.find((p) => p.path.startsWith('apv-'))!.data;

    const b = await toCodes({ server });
    b.n.confirmCode();
    const forged = editJson(oldApproval, (o) => (o.requestId = b.n.requestId));
    await server.put(fileName('approval', b.n.requestId), forged);
    await expectReason(b.n.poll(), 'decrypt-failed');
    expect(b.n.state.step).toBe('failed');
  });

  it('a server posing as T can seal fake words for N, but N opens nothing unless the user confirmed the code', async () => {
    const attacker = await generateEphemeralKeyPair();
    const server = new MemoryTransport();
    const tN = view(server);
    const n = await NewDeviceSession.start({ transport: tN, device: DEVICE });
    await server.put(
      fileName('answer', n.requestId),
      encodeMessage({ type: 'answer', requestId: n.requestId, publicKey: attacker.publicKey }),
    );
    await n.poll();
    expect(n.state.step).toBe('confirm-code');
    // the attacker reads the reveal and derives the same session key as N
    const rev = JSON.parse(fromUtf8(server.files.get(fileName('reveal', n.requestId))!)) as Record<
      string,
      string
    >;
    const pubN = new Uint8Array(Buffer.from(rev.publicKey!, 'base64')) as Bytes;
    const nonce = new Uint8Array(Buffer.from(rev.nonce!, 'base64')) as Bytes;
    const th = await transcriptHash({
      requestId: n.requestId,
      createdAt: n.request.createdAt,
      expiresAt: n.request.expiresAt,
      device: n.request.device,
      commitment: n.request.commitment,
      newDeviceKey: pubN,
      trustedDeviceKey: attacker.publicKey,
      nonce,
    });
    const key = await deriveSessionKey(attacker.privateKey, pubN, n.requestId, th);
    const fake = await sealSecret(
      key,
      secretAad(n.requestId, pubN, attacker.publicKey),
      encodeSecret({ ...SECRET, words: Array(12).fill('zoo') as string[], deviceId: 'x' }),
    );
    await server.put(
      fileName('approval', n.requestId),
      encodeMessage({ type: 'approval', requestId: n.requestId, ...fake }),
    );
    expect((await n.poll()).step).toBe('confirm-code'); // nothing decrypted before confirmation
    // the real trusted device never showed this code, so the user answers "codes differ"
    await n.rejectCode();
    expect(n.state).toEqual({ step: 'rejected', reason: 'code-mismatch' });
  });
});

describe('device approval: lifetime and single use', () => {
  it('an expired request is refused by T and abandoned by N', async () => {
    const server = new MemoryTransport();
    const clock = testClock();
    const handled = memoryHandled();
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE, now: clock.now });
    clock.advance(10 * 60_000 + 1);
    expect((await listRequests(server, { handled, now: clock.now })).pending).toEqual([]);
    await expectReason(
      TrustedDeviceSession.answer({ transport: server, requestId: n.requestId, handled, now: clock.now }),
      'expired',
    );
    expect(handled.ids.size).toBe(0);
    expect(await n.poll()).toEqual({ step: 'expired' });
    expect(n.holdsPrivateKey).toBe(false);
    expect(server.files.size).toBe(0);
  });

  it('approving after expiry is refused', async () => {
    const clock = testClock();
    const { n, t } = await toCodes({ clock });
    n.confirmCode();
    clock.advance(10 * 60_000 + 1);
    await expectReason(t.approve(SECRET), 'expired');
    expect(await n.poll()).toEqual({ step: 'expired' });
  });

  it('a request lifetime above 10 minutes is capped; a longer window in the file is malformed', async () => {
    const server = new MemoryTransport();
    const clock = testClock();
    const n = await NewDeviceSession.start({
      transport: server,
      device: DEVICE,
      now: clock.now,
      ttlMs: 3_600_000,
    });
    expect(n.request.expiresAt - n.request.createdAt).toBe(600_000);
    const p = fileName('request', n.requestId);
    server.files.set(
      p,
      editJson(server.files.get(p)!, (o) => (o.expiresAt = (o.createdAt as number) + 600_001)),
    );
    await expectReason(
      TrustedDeviceSession.answer({
        transport: server,
        requestId: n.requestId,
        handled: memoryHandled(),
        now: clock.now,
      }),
      'malformed',
    );
  });

  it('a request dated in the future is refused', async () => {
    const server = new MemoryTransport();
    const clock = testClock();
    const n = await NewDeviceSession.start({
      transport: server,
      device: DEVICE,
      now: () => clock.now() + 3_600_000,
    });
    await expectReason(
      TrustedDeviceSession.answer({
        transport: server,
        requestId: n.requestId,
        handled: memoryHandled(),
        now: clock.now,
      }),
      'malformed',
    );
  });

  it('T rejects: N learns it, drops its key, and nothing usable is left', async () => {
    const { server, n, t, tT } = await toCodes();
    await t.reject();
    expect(t.state).toEqual({ step: 'rejected', reason: 'user' });
    expect(await n.poll()).toEqual({ step: 'rejected', reason: 'user' });
    expect(n.holdsPrivateKey).toBe(false);
    expect([...server.files.keys()]).toEqual([fileName('rejected', n.requestId)]);
    expect(tT.puts.map((p) => p.path.slice(0, 4))).toEqual(['ans-', 'rej-']);
    await expectReason(t.approve(SECRET), 'wrong-state');
  });

  it('N says the codes differ: T learns it and cannot approve', async () => {
    const { n, t } = await toCodes();
    await n.rejectCode();
    expect(n.state).toEqual({ step: 'rejected', reason: 'code-mismatch' });
    await expectReason(t.approve(SECRET), 'rejected');
    expect(t.state.step).toBe('rejected');
  });

  it('N cancels before an answer: T cannot answer any more', async () => {
    const server = new MemoryTransport();
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE });
    await n.cancel();
    expect(n.state.step).toBe('cancelled');
    const e = await caught(
      TrustedDeviceSession.answer({ transport: server, requestId: n.requestId, handled: memoryHandled() }),
    );
    expect(isCipherfoldError(e, 'not-found')).toBe(true);
    expect([...server.files.keys()]).toEqual([fileName('rejected', n.requestId)]);
  });

  it('a request is answered only once from one device; a second device finds it taken', async () => {
    const { server, n, handled, clock } = await toCodes();
    await expectReason(
      TrustedDeviceSession.answer({ transport: server, requestId: n.requestId, handled, now: clock.now }),
      'already-handled',
    );
    await expectReason(
      TrustedDeviceSession.answer({
        transport: server,
        requestId: n.requestId,
        handled: memoryHandled(),
        now: clock.now,
      }),
      'taken',
    );
  });

  it('a trusted device whose answer lost the race stands down when it sees the reveal', async () => {
    const server = new MemoryTransport();
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE });
    const t1 = await TrustedDeviceSession.answer({
      transport: server,
      requestId: n.requestId,
      handled: memoryHandled(),
    });
    // a storage without atomic create: the second answer overwrites the first
    const noCreate = view(server);
    noCreate.put = (p, d) => server.put(p, d);
    const t2 = await TrustedDeviceSession.answer({
      transport: noCreate,
      requestId: n.requestId,
      handled: memoryHandled(),
    });
    await n.poll();
    expect(await t1.poll()).toEqual({ step: 'taken' });
    expect(t1.holdsPrivateKey).toBe(false);
    expect((await t2.poll()).step).toBe('confirm-code');
    expect(codeOf(t2)).toBe(codeOf(n));
  });

  it('cleans up stale files but leaves live requests', async () => {
    const server = new MemoryTransport();
    const clock = testClock();
    const live = await NewDeviceSession.start({ transport: server, device: DEVICE, now: clock.now });
    const oldId = newRequestId();
    await server.put(
      fileName('request', oldId),
      encodeMessage({
        type: 'request',
        requestId: oldId,
        createdAt: clock.now() - 3 * 3_600_000,
        expiresAt: clock.now() - 3 * 3_600_000 + 600_000,
        device: DEVICE,
        commitment: randomBytes(32),
      }),
    );
    await server.put(fileName('rejected', newRequestId()), utf8('{}'));
    await server.put('notes.txt', utf8('keep me'));
    const deleted = await cleanupStale(server, { now: clock.now });
    expect(deleted).toHaveLength(2);
    expect(server.files.has(fileName('request', live.requestId))).toBe(true);
    expect(server.files.has('notes.txt')).toBe(true);
  });
});

describe('device approval: malformed files', () => {
  it('garbage answer → typed malformed (format) error, N fails closed', async () => {
    const server = new MemoryTransport();
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE });
    await server.put(
      fileName('answer', n.requestId),
      utf8('{"cipherfold":"device-approval","v":1,"type":"answer"}'),
    );
    const e = await caught(n.poll());
    expect(isApprovalError(e, 'malformed')).toBe(true);
    expect((e as { kind: string }).kind).toBe('format');
    expect(n.state.step).toBe('failed');
  });

  it('an answer with a point not on the curve is malformed', async () => {
    const server = new MemoryTransport();
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE });
    const bogus = new Uint8Array(65) as Bytes;
    bogus[0] = 4;
    bogus.fill(7, 1);
    await server.put(
      fileName('answer', n.requestId),
      encodeMessage({ type: 'answer', requestId: n.requestId, publicKey: bogus }),
    );
    await expectReason(n.poll(), 'malformed');
  });

  it('garbage request → T refuses; listRequests reports it and carries on', async () => {
    const server = new MemoryTransport();
    const handled = memoryHandled();
    const good = await NewDeviceSession.start({ transport: server, device: DEVICE });
    const badId = newRequestId();
    await server.put(fileName('request', badId), utf8('not json'));
    const r = await listRequests(server, { handled });
    expect(r.pending.map((p) => p.requestId)).toEqual([good.requestId]);
    expect(r.malformed).toEqual([fileName('request', badId)]);
    await expectReason(
      TrustedDeviceSession.answer({ transport: server, requestId: badId, handled }),
      'malformed',
    );
  });

  it('a request stored under another id is refused', async () => {
    const server = new MemoryTransport();
    const n = await NewDeviceSession.start({ transport: server, device: DEVICE });
    const other = newRequestId();
    await server.put(fileName('request', other), server.files.get(fileName('request', n.requestId))!);
    await expectReason(
      TrustedDeviceSession.answer({ transport: server, requestId: other, handled: memoryHandled() }),
      'replayed',
    );
  });

  it('a tampered approval ciphertext fails to decrypt', async () => {
    const { server, n, t } = await toCodes();
    n.confirmCode();
    await t.approve(SECRET);
    const p = fileName('approval', n.requestId);
    server.files.set(
      p,
      editJson(server.files.get(p)!, (o) => {
        const ct = Buffer.from(o.ciphertext as string, 'base64');
        ct[0]! ^= 1;
        o.ciphertext = ct.toString('base64');
      }),
    );
    await expectReason(n.poll(), 'decrypt-failed');
  });

  it('T refuses to send a secret that N would not accept', async () => {
    const { t } = await toCodes();
    await caught(t.approve({ ...SECRET, words: WORDS.slice(0, 11) }));
    expect(t.state.step).toBe('confirm-code');
  });
});

describe('verification code', () => {
  it('is 6 digits, deterministic, and changes with any transcript input', async () => {
    const base = {
      requestId: newRequestId(),
      createdAt: 1,
      expiresAt: 2,
      device: DEVICE,
      commitment: randomBytes(32),
      newDeviceKey: (await generateEphemeralKeyPair()).publicKey,
      trustedDeviceKey: (await generateEphemeralKeyPair()).publicKey,
      nonce: randomBytes(32),
    };
    const c = await verificationCode(await transcriptHash(base));
    expect(c).toMatch(/^\d{3} \d{3}$/);
    expect(await verificationCode(await transcriptHash({ ...base }))).toBe(c);
    const variants = [
      { requestId: newRequestId() },
      { createdAt: 0 },
      { expiresAt: 3 },
      { device: { ...DEVICE, browser: 'Chromium' } },
      { commitment: randomBytes(32) },
      { trustedDeviceKey: (await generateEphemeralKeyPair()).publicKey },
      { nonce: randomBytes(32) },
    ];
    const hashes = new Set<string>();
    for (const v of variants) hashes.add(toBase64(await transcriptHash({ ...base, ...v })));
    hashes.add(toBase64(await transcriptHash(base)));
    expect(hashes.size).toBe(variants.length + 1);
  });
});
