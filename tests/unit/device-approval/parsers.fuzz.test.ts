import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromUtf8, utf8, type Bytes } from '../../../lib/crypto/bytes';
import {
  encodeMessage,
  encodeSecret,
  isApprovalError,
  parseAnswer,
  parseApproval,
  parseFileName,
  parseRejection,
  parseRequest,
  parseReveal,
  parseSecret,
  type ApprovalMessageAny,
} from '../../../lib/device-approval';

const RUNS = 1000;

const parsers = {
  parseRequest,
  parseAnswer,
  parseReveal,
  parseApproval,
  parseRejection,
  parseSecret,
} as const;

/** A parser may return or throw a malformed DeviceApprovalError — nothing else. */
function total(parse: (b: Uint8Array) => unknown, input: Uint8Array): void {
  try {
    parse(input);
  } catch (e) {
    if (!isApprovalError(e, 'malformed')) throw e;
  }
}

const bytesOf = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((u) => new Uint8Array(u) as Bytes);
const point = bytesOf(64).map((b) => {
  const out = new Uint8Array(65) as Bytes;
  out[0] = 4;
  out.set(b, 1);
  return out;
});
const requestId = fc.stringMatching(/^[A-Za-z0-9_-]{22}$/);
const text = fc.string({ maxLength: 100 });

const message: fc.Arbitrary<ApprovalMessageAny> = fc.oneof(
  fc
    .record({
      type: fc.constant('request' as const),
      requestId,
      createdAt: fc.integer({ min: 0, max: 2 ** 45 }),
      ttl: fc.integer({ min: 1, max: 600_000 }),
      device: fc.record({ name: text, browser: text }),
      commitment: bytesOf(32),
    })
    .map(({ ttl, ...r }) => ({ ...r, expiresAt: r.createdAt + ttl })),
  fc.record({ type: fc.constant('answer' as const), requestId, publicKey: point }),
  fc.record({
    type: fc.constant('reveal' as const),
    requestId,
    publicKey: point,
    nonce: bytesOf(32),
    peerPublicKey: point,
  }),
  fc.record({
    type: fc.constant('approval' as const),
    requestId,
    iv: bytesOf(12),
    ciphertext: fc.uint8Array({ minLength: 17, maxLength: 600 }).map((u) => new Uint8Array(u) as Bytes),
  }),
  fc.record({
    type: fc.constant('rejected' as const),
    requestId,
    at: fc.integer({ min: 0, max: 2 ** 45 }),
    reason: fc.constantFrom(
      'user' as const,
      'code-mismatch' as const,
      'commitment-mismatch' as const,
      'expired' as const,
      'cancelled' as const,
    ),
  }),
);

function parserFor(m: ApprovalMessageAny): (b: Uint8Array) => ApprovalMessageAny {
  return {
    request: parseRequest,
    answer: parseAnswer,
    reveal: parseReveal,
    approval: parseApproval,
    rejected: parseRejection,
  }[m.type];
}

describe('device-approval parsers (fuzz)', () => {
  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name}: arbitrary bytes never throw anything but a malformed error`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (u) => total(parse, u)),
        { numRuns: RUNS },
      );
    });

    it(`${name}: arbitrary JSON never throws anything but a malformed error`, () => {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => total(parse, utf8(JSON.stringify(v) ?? 'null'))),
        { numRuns: RUNS },
      );
    });
  }

  it('valid messages round-trip', () => {
    fc.assert(
      fc.property(message, (m) => {
        const parsed = parserFor(m)(encodeMessage(m));
        expect(parsed).toEqual(m);
      }),
      { numRuns: RUNS },
    );
  });

  it('a valid message with one member replaced or removed parses to a valid message or is malformed', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.option(fc.jsonValue(), { nil: undefined }), (m, idx, replacement) => {
        const o = JSON.parse(fromUtf8(encodeMessage(m))) as Record<string, unknown>;
        const keys = Object.keys(o);
        const k = keys[idx % keys.length]!;
        if (replacement === undefined) delete o[k];
        else o[k] = replacement;
        const parse = parserFor(m);
        try {
          const r = parse(utf8(JSON.stringify(o)));
          // accepted: it must still be a well-formed message of the same type
          expect(r.type).toBe(m.type);
          expect(encodeMessage(r).length).toBeGreaterThan(0);
        } catch (e) {
          if (!isApprovalError(e, 'malformed')) throw e;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a message is never accepted as another type', () => {
    fc.assert(
      fc.property(message, (m) => {
        for (const parse of [parseRequest, parseAnswer, parseReveal, parseApproval, parseRejection]) {
          if (parse === parserFor(m)) continue;
          expect(() => parse(encodeMessage(m))).toThrow();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('secrets round-trip and bad ones are malformed', () => {
    const word = fc.stringMatching(/^[a-z]{2,12}$/);
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 12, maxLength: 12 }),
        fc.string({ minLength: 1, maxLength: 50 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (words, userId, deviceId) => {
          const s = { words, userId, origin: 'https://cloud.example.org', deviceId };
          expect(parseSecret(encodeSecret(s))).toEqual(s);
          total(parseSecret, encodeSecret({ ...s, words: words.slice(1) }));
          expect(() => parseSecret(encodeSecret({ ...s, words: words.slice(1) }))).toThrow();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('file names: only the five kinds with a well-formed id are recognised', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const p = parseFileName(s);
        if (p)
          expect(
            `${{ request: 'req', answer: 'ans', reveal: 'rev', approval: 'apv', rejected: 'rej' }[p.kind]}-${p.requestId}.json`,
          ).toBe(s);
      }),
      { numRuns: RUNS },
    );
    expect(parseFileName('req-AAAAAAAAAAAAAAAAAAAAAA.json')).toEqual({
      kind: 'request',
      requestId: 'AAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(parseFileName('req-AAAA.json')).toBeNull();
  });

  it('oversized files are refused before parsing', () => {
    const big = utf8(JSON.stringify({ cipherfold: 'device-approval', pad: 'x'.repeat(20_000) }));
    expect(() => parseRequest(big)).toThrow();
    total(parseRequest, big);
  });
});
