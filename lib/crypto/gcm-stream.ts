/**
 * Streaming AES-GCM (128-bit tag, no AAD) with bounded memory for messages of any size GCM allows,
 * built only from WebCrypto calls plus a few GF(2^128) multiplications per chunk.
 *
 * WebCrypto's AES-GCM is one-shot: the whole message must be in memory and a single call fails at about
 * 2 GiB in browsers. Here the message is cut into chunks (a multiple of 16 bytes, except the last) and:
 *
 *  - the ciphertext comes from WebCrypto AES-CTR with counter block inc32^(1+b)(J0), `length: 32`
 *    (b = block offset of the chunk), which is exactly GCM's GCTR. The 32-bit counter wrap is split
 *    explicitly into two calls, so no implementation's wrap handling is relied upon;
 *  - each chunk's GHASH contribution comes from WebCrypto too: AES-GCM-encrypting an EMPTY message with
 *    the chunk as additional data yields T_i = E_K(J0') ⊕ GHASH_H(chunk ‖ pad ‖ [8·len]_64 ‖ 0^64).
 *    With J0' fixed (nonce 0^96) and H = E_K(0^128) known, T_i ⊕ E_K(J0') ⊕ L_i·H = D_i·H where D_i is
 *    the chunk's bare Horner sum. Chunks are combined as Z ← Z·H^{n_i} ⊕ D_i·H, and the message's GHASH
 *    is Z ⊕ L·H (L = 0^64 ‖ [8·len(C)]_64). See docs/streaming-gcm.md for the derivation and numbers.
 *
 * Encryption by default needs one call per chunk instead ("sealed pieces"): AES-GCM with a 16-byte IV
 * derived so that the call's counter starts at the chunk's counter; its tag, unmasked with the previous
 * chunk's last keystream block, gives the chunk's GHASH. See GcmCore.seal.
 *
 * The tag-oracle calls use this key with a fixed nonce; their outputs never leave this module.
 *
 * Decryption releases plaintext chunk by chunk BEFORE the tag is known. Callers must treat it as
 * unverified until `final()` resolves / the stream closes without error, and discard it otherwise.
 * The last chunk is only released after the tag verified.
 */
import { fail } from '../errors';
import { bytes, concatBytes, copyBytes, equalBytes, type Bytes } from './bytes';
import { gcmJ0, gfInvert, gfMul, gfPow, lengthBlock, xorBlocks } from './ghash';

export const GCM_STREAM_TAG_LENGTH = 16;
/** Default chunk size (bytes); see docs/streaming-gcm.md for the measurements behind it. */
export const GCM_STREAM_DEFAULT_CHUNK_SIZE = 1 << 20;
/** GCM's limit for one message: 2^32 - 2 blocks (SP 800-38D §5.2.1.1), i.e. 64 GiB - 32 bytes. */
export const GCM_MAX_MESSAGE_BYTES = (2 ** 32 - 2) * 16;

const MAX_CHUNK_SIZE = 256 * 1024 * 1024;
/**
 * Pipelining: up to MAX_PENDING_OUTPUT chunks may be in AES-CTR while `write` already returned (so the
 * producer, the stream machinery and WebCrypto's worker threads overlap), and up to MAX_INFLIGHT_GHASH
 * GHASH calls may run. Both bound memory to a few chunks.
 */
const MAX_PENDING_OUTPUT = 2;
const MAX_INFLIGHT_GHASH = 3;
const TWO_32 = 2 ** 32;
const ORACLE_NONCE = bytes(12);
const EMPTY = bytes(0);

const DEFAULT_TAG_MESSAGE =
  'Decryption failed: the data does not match its authentication tag. It was damaged or changed, or the key is wrong. Discard anything already received; try again or ask the owner to upload it again.';

export interface GcmStreamOptions {
  /** Bytes per WebCrypto call; a multiple of 16 between 16 bytes and 256 MiB. */
  chunkSize?: number;
  /** Message of the `tag` error raised when decryption does not verify. */
  tagErrorMessage?: string;
}

function checkParams(key: Uint8Array, nonce: Uint8Array, options: GcmStreamOptions): number {
  if (!(key instanceof Uint8Array) || (key.length !== 16 && key.length !== 32)) {
    throw fail('format', 'An encryption key has the wrong length. The data may be damaged.');
  }
  if (!(nonce instanceof Uint8Array) || nonce.length < 1) {
    throw fail('format', 'An encryption nonce is empty. The data may be damaged.');
  }
  const size = options.chunkSize ?? GCM_STREAM_DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(size) || size < 16 || size > MAX_CHUNK_SIZE || size % 16 !== 0) {
    throw fail(
      'format',
      'The streaming chunk size must be a multiple of 16 bytes. This is a programming error.',
    );
  }
  return size;
}

function asBytes(u: Uint8Array): Bytes {
  return u.buffer instanceof ArrayBuffer ? (u as Bytes) : copyBytes(u);
}

function checkChunk(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw fail('format', 'A stream chunk is not binary data. This is a programming error.');
  }
}

/** Key schedule, masks and the running GHASH accumulator of one message. */
class GcmCore {
  private blocks = 0;
  private total = 0;
  private partialSeen = false;
  /** Z = Y·H, where Y is the Horner sum over all ciphertext blocks combined so far. */
  private z: Bytes = bytes(16);
  private chain: Promise<void> = Promise.resolve();
  private readonly inflight: Promise<void>[] = [];
  private readonly powers = new Map<number, { hn: Bytes; lh: Bytes }>();
  private hInv: Bytes | undefined;
  /** E_K(counter block just before the next piece): E_K(J0) at first, then from each sealed piece. */
  private nextMask: Promise<Bytes>;

  private constructor(
    private readonly ctrKey: CryptoKey,
    private readonly gcmKey: CryptoKey,
    private readonly h: Bytes,
    private readonly oracleMask: Bytes,
    private readonly tagMask: Bytes,
    private readonly counterPrefix: Bytes,
    private readonly counter0: number,
    private readonly nonce: Bytes,
  ) {
    this.nextMask = Promise.resolve(tagMask);
  }

  static async create(key: Bytes, nonce: Bytes): Promise<GcmCore> {
    const [ctrKey, gcmKey] = await Promise.all([
      crypto.subtle.importKey('raw', key, { name: 'AES-CTR' }, false, ['encrypt']),
      crypto.subtle.importKey('raw', key, { name: 'AES-GCM' }, false, ['encrypt']),
    ]);
    // Counter blocks 0^128 and 0^127‖1: H = E_K(0^128) and E_K(J0') for the oracle nonce 0^96.
    const hm = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-CTR', counter: bytes(16), length: 32 }, ctrKey, bytes(32)),
    );
    const h = hm.slice(0, 16);
    const oracleMask = hm.slice(16, 32);
    const j0 = gcmJ0(h, nonce);
    const tagMask = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-CTR', counter: j0, length: 32 }, ctrKey, bytes(16)),
    ) as Bytes;
    const counter0 = ((j0[12]! << 24) | (j0[13]! << 16) | (j0[14]! << 8) | j0[15]!) >>> 0;
    return new GcmCore(ctrKey, gcmKey, h, oracleMask, tagMask, j0.slice(0, 12), counter0, copyBytes(nonce));
  }

  /** Accounts for `len` more message bytes; returns the block offset at which they start. */
  advance(len: number): number {
    if (this.partialSeen && len > 0) {
      throw fail('format', 'Streaming AES-GCM got data after a partial block. This is a programming error.');
    }
    if (this.total + len > GCM_MAX_MESSAGE_BYTES) {
      throw fail(
        'unsupported',
        'The data is larger than AES-GCM allows for one message (64 GiB). It cannot be processed; split it into smaller files.',
      );
    }
    const start = this.blocks;
    this.total += len;
    this.blocks += Math.ceil(len / 16);
    if (len % 16 !== 0) this.partialSeen = true;
    return start;
  }

  private async ctrCall(data: Bytes, counter: number): Promise<Bytes> {
    const block = bytes(16);
    block.set(this.counterPrefix);
    block[12] = counter >>> 24;
    block[13] = (counter >>> 16) & 0xff;
    block[14] = (counter >>> 8) & 0xff;
    block[15] = counter & 0xff;
    const out = await crypto.subtle.encrypt(
      { name: 'AES-CTR', counter: block, length: 32 },
      this.ctrKey,
      data,
    );
    return new Uint8Array(out) as Bytes;
  }

  /**
   * GCTR over `data` starting at block `blockOffset` of the message (counter inc32^(1+offset)(J0)).
   * WebCrypto copies `data` synchronously, so the caller may reuse it once this returns a promise.
   */
  ctr(data: Bytes, blockOffset: number): Promise<Bytes> {
    const nBlocks = Math.ceil(data.length / 16);
    const start = (this.counter0 + 1 + blockOffset) % TWO_32;
    const room = TWO_32 - start;
    if (nBlocks <= room) return this.ctrCall(data, start);
    // inc32 wraps the low 32 bits to 0 and keeps the upper 96; only reachable for non-12-byte nonces
    // (for 12-byte nonces the counter starts at 2 and GCM's 2^32-2 block limit ends before the wrap).
    const cut = room * 16;
    return Promise.all([
      this.ctrCall(data.subarray(0, cut), start),
      this.ctrCall(data.subarray(cut), 0),
    ]).then(([a, b]) => concatBytes(a, b));
  }

  private powersFor(len: number): { hn: Bytes; lh: Bytes } {
    let p = this.powers.get(len);
    if (!p) {
      p = { hn: gfPow(this.h, Math.ceil(len / 16)), lh: gfMul(lengthBlock(len, 0), this.h) };
      if (this.powers.size < 8) this.powers.set(len, p);
    }
    return p;
  }

  /** True if `seal` can be used (H is invertible, i.e. not zero: fails with probability 2^-128). */
  canSeal(): boolean {
    return this.h.some((b) => b !== 0);
  }

  /**
   * Encrypts the next plaintext piece (starting at block `blockOffset`) with ONE WebCrypto AES-GCM call
   * and schedules its GHASH contribution. The call's 16-byte IV is chosen so that its pre-counter block
   * is J' = prefix ‖ [c0 + b]_32, i.e. its keystream starts exactly at this piece's counter:
   * GHASH_H(IV ‖ L16) = (IV·H ⊕ L16)·H = J'  ⇔  IV = (J'·H⁻¹ ⊕ L16)·H⁻¹ with L16 = [0]_64 ‖ [128]_64.
   * Its tag is E_K(J') ⊕ D·H ⊕ L'·H (L' = [0]_64 ‖ [8·len]_64), and E_K(J') is the keystream of the
   * previous piece's last block (= its plaintext ⊕ ciphertext), or E_K(J0) for the first piece.
   */
  seal(pt: Bytes, blockOffset: number): Promise<Bytes> {
    const len = pt.length;
    let iv: Bytes;
    if (blockOffset === 0 && (this.nonce.length === 12 || this.nonce.length === 16)) {
      iv = this.nonce; // J' = J0: the message's own nonce (saves the inversion for one-chunk messages)
    } else {
      this.hInv ??= gfInvert(this.h);
      const j = bytes(16);
      j.set(this.counterPrefix);
      new DataView(j.buffer).setUint32(12, (this.counter0 + blockOffset) % TWO_32);
      iv = gfMul(xorBlocks(gfMul(j, this.hInv), lengthBlock(0, 16)), this.hInv);
    }
    const lastPt = len >= 16 ? pt.slice(len - 16) : undefined;
    const call = crypto.subtle
      .encrypt({ name: 'AES-GCM', iv, tagLength: 128 }, this.gcmKey, pt)
      .then((b) => new Uint8Array(b) as Bytes);
    const mask = this.nextMask;
    this.nextMask = call.then((out) => (lastPt ? xorBlocks(out.subarray(len - 16, len), lastPt) : bytes(16)));
    this.nextMask.catch(() => undefined);
    const { hn } = this.powersFor(len);
    const lh = gfMul(lengthBlock(0, len), this.h);
    this.combine(
      Promise.all([call, mask]).then(([out, m]) => xorBlocks(xorBlocks(out.subarray(len, len + 16), m), lh)),
      hn,
    );
    return call.then((out) => out.subarray(0, len));
  }

  private combine(dhPromise: Promise<Bytes>, hn: Bytes): void {
    const next = Promise.all([this.chain, dhPromise]).then(([, dh]) => {
      this.z = xorBlocks(gfMul(this.z, hn), dh);
    });
    next.catch(() => undefined); // observed later through `chain`; avoid an unhandled rejection meanwhile
    this.chain = next;
    this.inflight.push(next);
  }

  /**
   * Schedules the GHASH contribution of the next ciphertext piece of `len` bytes. Calls must be made in
   * message order; the piece may still be in the making (a promise), contributions are combined in call
   * order regardless of which WebCrypto call finishes first. A `Bytes` piece is handed to WebCrypto
   * synchronously (so the caller may reuse its buffer afterwards).
   */
  ghash(ct: Bytes | Promise<Bytes>, len: number): void {
    if (len === 0) return;
    const call = (c: Bytes): Promise<ArrayBuffer> =>
      crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: ORACLE_NONCE, additionalData: c, tagLength: 128 },
        this.gcmKey,
        EMPTY,
      );
    const oracle = ct instanceof Uint8Array ? call(ct) : ct.then(call);
    const { hn, lh } = this.powersFor(len);
    // t = E_K(J0') ⊕ D·H ⊕ L_i·H  →  D·H = t ⊕ E_K(J0') ⊕ L_i·H
    this.combine(
      oracle.then((t) => xorBlocks(xorBlocks(new Uint8Array(t), this.oracleMask), lh)),
      hn,
    );
  }

  /** Waits until fewer than MAX_INFLIGHT_GHASH GHASH calls are outstanding (bounds memory). */
  async throttle(): Promise<void> {
    while (this.inflight.length >= MAX_INFLIGHT_GHASH) await this.inflight.shift();
  }

  async tag(): Promise<Bytes> {
    await this.chain;
    this.inflight.length = 0;
    const s = xorBlocks(this.z, gfMul(lengthBlock(0, this.total), this.h));
    return xorBlocks(s, this.tagMask);
  }
}

/**
 * Cuts an input stream into whole chunks of `chunkSize`, keeping back the last `reserve` bytes of the
 * stream (the trailing tag) and any incomplete chunk. Chunks are views: of the caller's input when it is
 * large enough, otherwise of an internal buffer that is never written again once handed out.
 */
class Chunker {
  private buf: Bytes;
  private len = 0;

  constructor(
    private readonly chunkSize: number,
    private readonly reserve: number,
  ) {
    this.buf = bytes(chunkSize + reserve);
  }

  push(input: Uint8Array): Bytes[] {
    const out: Bytes[] = [];
    const size = this.chunkSize;
    const cap = size + this.reserve;
    let off = 0;
    while (off < input.length) {
      if (this.len === 0) {
        const src = asBytes(input);
        while (input.length - off >= cap) {
          out.push(src.subarray(off, off + size));
          off += size;
        }
      }
      const take = Math.min(cap - this.len, input.length - off);
      this.buf.set(input.subarray(off, off + take), this.len);
      this.len += take;
      off += take;
      if (this.len === cap) {
        out.push(this.buf.subarray(0, size));
        const next = bytes(cap);
        next.set(this.buf.subarray(size, cap));
        this.buf = next;
        this.len = this.reserve;
      }
    }
    return out;
  }

  /** Whatever is buffered: the final partial chunk (and, with a reserve, the bytes kept back). */
  rest(): Bytes {
    return this.buf.subarray(0, this.len);
  }
}

type State = 'open' | 'busy' | 'done' | 'failed';
type Sink = (out: Bytes) => void;

abstract class GcmStreamBase {
  private state: State = 'open';
  private readonly pending: Promise<Bytes>[] = [];

  protected async guarded<T>(f: () => Promise<T>, last = false): Promise<T> {
    if (this.state !== 'open') {
      throw fail(
        'format',
        this.state === 'busy'
          ? 'Streaming AES-GCM was called again before the previous call finished. This is a programming error.'
          : 'Streaming AES-GCM was used after it finished or failed. This is a programming error.',
      );
    }
    this.state = 'busy';
    try {
      const r = await f();
      this.state = last ? 'done' : 'open';
      return r;
    } catch (e) {
      this.state = 'failed';
      throw e;
    }
  }

  /** Queues an output chunk; hands finished chunks to `sink` in order while too many are pending. */
  protected async push(out: Promise<Bytes>, sink: Sink): Promise<void> {
    out.catch(() => undefined); // observed when it reaches the head of the queue
    this.pending.push(out);
    while (this.pending.length > MAX_PENDING_OUTPUT) sink(await this.pending.shift()!);
  }

  protected async drain(sink: Sink): Promise<void> {
    while (this.pending.length > 0) sink(await this.pending.shift()!);
  }

  /**
   * Feeds `data`; calls `sink` with finished output chunks, in order. Output may lag the input by a
   * couple of chunks (they are still being computed); `finish` delivers the rest. Do not call
   * concurrently; the promise resolves when `data` may be reused by the caller.
   */
  abstract write(data: Uint8Array, sink: Sink): Promise<void>;

  /** Like `write`, but returns the output that is ready as one buffer (may be empty). */
  async update(data: Uint8Array): Promise<Bytes> {
    const parts: Bytes[] = [];
    await this.write(data, (b) => parts.push(b));
    return parts.length === 1 ? parts[0]! : concatBytes(...parts);
  }
}

export interface GcmEncryptorOptions extends GcmStreamOptions {
  /**
   * 'seal' (default): one AES-GCM call per chunk with a derived 16-byte IV (see GcmCore.seal).
   * 'ctr+ghash': AES-CTR for the ciphertext plus a GHASH call, as the decryptor does. Same output.
   */
  method?: 'seal' | 'ctr+ghash';
}

/**
 * Incremental AES-GCM encryption: `write`/`update` any number of times, then `finish`/`final` once.
 * Output is ciphertext only; the tag is returned separately.
 */
export class GcmStreamEncryptor extends GcmStreamBase {
  private constructor(
    private readonly core: GcmCore,
    private readonly chunker: Chunker,
    private readonly fused: boolean,
  ) {
    super();
  }

  static async create(
    key: Bytes,
    nonce: Bytes,
    options: GcmEncryptorOptions = {},
  ): Promise<GcmStreamEncryptor> {
    const chunkSize = checkParams(key, nonce, options);
    const core = await GcmCore.create(key, nonce);
    const fused = (options.method ?? 'seal') === 'seal' && core.canSeal();
    return new GcmStreamEncryptor(core, new Chunker(chunkSize, 0), fused);
  }

  private async encryptChunk(chunk: Bytes, sink: Sink): Promise<void> {
    await this.core.throttle();
    const offset = this.core.advance(chunk.length);
    let ct: Promise<Bytes>;
    if (this.fused) {
      ct = this.core.seal(chunk, offset);
    } else {
      ct = this.core.ctr(chunk, offset);
      this.core.ghash(ct, chunk.length);
    }
    await this.push(ct, sink);
  }

  write(data: Uint8Array, sink: Sink): Promise<void> {
    return this.guarded(async () => {
      checkChunk(data);
      for (const chunk of this.chunker.push(data)) await this.encryptChunk(chunk, sink);
    });
  }

  /** Encrypts what is buffered, delivers all remaining ciphertext to `sink`, returns the 16-byte tag. */
  finish(sink: Sink): Promise<Bytes> {
    return this.guarded(async () => {
      const rest = this.chunker.rest();
      if (rest.length > 0) await this.encryptChunk(rest, sink);
      await this.drain(sink);
      return this.core.tag();
    }, true);
  }

  /** `finish` returning the remaining ciphertext (may be empty) as one buffer. */
  async final(): Promise<{ output: Bytes; tag: Bytes }> {
    const parts: Bytes[] = [];
    const tag = await this.finish((b) => parts.push(b));
    return { output: parts.length === 1 ? parts[0]! : concatBytes(...parts), tag };
  }
}

export interface GcmDecryptorOptions extends GcmStreamOptions {
  /**
   * true: the input is ciphertext ‖ tag and the last 16 bytes are held back as the tag (call
   * `finish`/`final` without a tag). false (default): the input is ciphertext only; pass the tag.
   */
  trailingTag?: boolean;
}

/**
 * Incremental AES-GCM decryption. Output of `write`/`update` is UNVERIFIED until `finish`/`final`
 * resolves; on a `tag` error discard everything received. The last piece is delivered only after the
 * tag verified.
 */
export class GcmStreamDecryptor extends GcmStreamBase {
  private constructor(
    private readonly core: GcmCore,
    private readonly chunker: Chunker,
    private readonly trailingTag: boolean,
    private readonly tagMessage: string,
  ) {
    super();
  }

  static async create(
    key: Bytes,
    nonce: Bytes,
    options: GcmDecryptorOptions = {},
  ): Promise<GcmStreamDecryptor> {
    const chunkSize = checkParams(key, nonce, options);
    const trailing = options.trailingTag ?? false;
    return new GcmStreamDecryptor(
      await GcmCore.create(key, nonce),
      // Keep back the tag plus at least one byte, so the last piece of plaintext is never empty and
      // is released only after verification (even when the length is a multiple of the chunk size).
      new Chunker(chunkSize, (trailing ? GCM_STREAM_TAG_LENGTH : 0) + 1),
      trailing,
      options.tagErrorMessage ?? DEFAULT_TAG_MESSAGE,
    );
  }

  private startChunk(chunk: Bytes): Promise<Bytes> {
    const offset = this.core.advance(chunk.length);
    this.core.ghash(chunk, chunk.length);
    return this.core.ctr(chunk, offset);
  }

  write(data: Uint8Array, sink: Sink): Promise<void> {
    return this.guarded(async () => {
      checkChunk(data);
      for (const chunk of this.chunker.push(data)) {
        await this.core.throttle();
        await this.push(this.startChunk(chunk), sink);
      }
    });
  }

  /**
   * Decrypts what is buffered and verifies the tag in constant time. Delivers the remaining pending
   * (unverified) output to `sink`, then the last piece only if the tag verifies; otherwise rejects with
   * a `tag` CipherfoldError.
   */
  finish(sink: Sink, tag?: Uint8Array): Promise<void> {
    return this.guarded(async () => {
      let rest = this.chunker.rest();
      let expected: Uint8Array | undefined = tag;
      if (this.trailingTag) {
        if (tag !== undefined) {
          throw fail(
            'format',
            'A tag was passed although it is read from the stream. This is a programming error.',
          );
        }
        if (rest.length < GCM_STREAM_TAG_LENGTH) throw fail('tag', this.tagMessage);
        expected = rest.subarray(rest.length - GCM_STREAM_TAG_LENGTH);
        rest = rest.subarray(0, rest.length - GCM_STREAM_TAG_LENGTH);
      }
      if (!(expected instanceof Uint8Array) || expected.length !== GCM_STREAM_TAG_LENGTH) {
        throw fail('tag', this.tagMessage);
      }
      const last = rest.length > 0 ? this.startChunk(rest) : Promise.resolve(bytes(0));
      last.catch(() => undefined);
      await this.drain(sink);
      const out = await last;
      const actual = await this.core.tag();
      if (!equalBytes(actual, expected)) {
        out.fill(0);
        throw fail('tag', this.tagMessage);
      }
      if (out.length > 0) sink(out);
    }, true);
  }

  /** `finish` returning the remaining plaintext (may be empty) as one buffer. */
  async final(tag?: Uint8Array): Promise<Bytes> {
    const parts: Bytes[] = [];
    await this.finish((b) => parts.push(b), tag);
    return parts.length === 1 ? parts[0]! : concatBytes(...parts);
  }
}

type StreamTransformer = Transformer<Uint8Array, Uint8Array> & { cancel?: (reason: unknown) => void };

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a caller that never looks at it must not see an unhandled rejection
  return { promise, resolve, reject };
}

/**
 * Plaintext in, ciphertext ‖ 16-byte tag out. `tag` resolves with the tag once the stream has flushed,
 * and rejects if the stream fails.
 */
export class GcmEncryptStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly tag: Promise<Bytes>;

  constructor(key: Bytes, nonce: Bytes, options: GcmEncryptorOptions = {}) {
    checkParams(key, nonce, options);
    const k = copyBytes(key);
    const n = copyBytes(nonce);
    const tag = deferred<Bytes>();
    let enc: GcmStreamEncryptor | undefined;
    const guard = async (f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        tag.reject(e);
        throw e;
      }
    };
    const transformer: StreamTransformer = {
      start: () =>
        guard(async () => {
          enc = await GcmStreamEncryptor.create(k, n, options);
        }),
      transform: (chunk, controller) => guard(() => enc!.write(chunk, (b) => controller.enqueue(b))),
      flush: (controller) =>
        guard(async () => {
          const t = await enc!.finish((b) => controller.enqueue(b));
          controller.enqueue(t);
          tag.resolve(t);
        }),
      cancel: (reason) => tag.reject(reason),
    };
    super(transformer);
    this.tag = tag.promise;
  }
}

/**
 * Ciphertext ‖ tag in, plaintext out. Plaintext is emitted as it is decrypted and is UNVERIFIED until
 * the stream closes without error; if the tag does not verify the stream errors with a `tag`
 * CipherfoldError (and the last piece is withheld). `verified` settles the same way.
 */
export class GcmDecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly verified: Promise<void>;

  constructor(key: Bytes, nonce: Bytes, options: GcmStreamOptions = {}) {
    checkParams(key, nonce, options);
    const k = copyBytes(key);
    const n = copyBytes(nonce);
    const verified = deferred<void>();
    let dec: GcmStreamDecryptor | undefined;
    const guard = async (f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        verified.reject(e);
        throw e;
      }
    };
    const transformer: StreamTransformer = {
      start: () =>
        guard(async () => {
          dec = await GcmStreamDecryptor.create(k, n, { ...options, trailingTag: true });
        }),
      transform: (chunk, controller) => guard(() => dec!.write(chunk, (b) => controller.enqueue(b))),
      flush: (controller) =>
        guard(async () => {
          await dec!.finish((b) => controller.enqueue(b));
          verified.resolve();
        }),
      cancel: (reason) => verified.reject(reason),
    };
    super(transformer);
    this.verified = verified.promise;
  }
}

export function createGcmEncryptStream(
  key: Bytes,
  nonce: Bytes,
  options?: GcmStreamOptions,
): GcmEncryptStream {
  return new GcmEncryptStream(key, nonce, options);
}

export function createGcmDecryptStream(
  key: Bytes,
  nonce: Bytes,
  options?: GcmStreamOptions,
): GcmDecryptStream {
  return new GcmDecryptStream(key, nonce, options);
}

/**
 * Encrypts an in-memory buffer chunk by chunk (no single large WebCrypto call, any nonce length);
 * returns ciphertext ‖ tag, identical to one-shot AES-GCM. Peak memory: input + output + ~2 chunks.
 */
export async function gcmEncryptChunked(
  key: Bytes,
  nonce: Bytes,
  plaintext: Uint8Array,
  options: GcmEncryptorOptions = {},
): Promise<Bytes> {
  checkParams(key, nonce, options);
  const enc = await GcmStreamEncryptor.create(key, nonce, options);
  const out = bytes(plaintext.length + GCM_STREAM_TAG_LENGTH);
  let o = 0;
  const sink = (b: Bytes): void => {
    out.set(b, o);
    o += b.length;
  };
  // One write: whole chunks are taken as views of `plaintext` (no copy); work stays bounded by the
  // pipelining limits.
  await enc.write(plaintext, sink);
  sink(await enc.finish(sink));
  return out;
}

/**
 * Decrypts ciphertext ‖ tag held in memory chunk by chunk; resolves only after the tag verified
 * (otherwise the partial output is zeroed and a `tag` error is thrown).
 */
export async function gcmDecryptChunked(
  key: Bytes,
  nonce: Bytes,
  ciphertextWithTag: Uint8Array,
  options: GcmStreamOptions = {},
): Promise<Bytes> {
  checkParams(key, nonce, options);
  const message = options.tagErrorMessage ?? DEFAULT_TAG_MESSAGE;
  if (ciphertextWithTag.length < GCM_STREAM_TAG_LENGTH) throw fail('tag', message);
  const ctLen = ciphertextWithTag.length - GCM_STREAM_TAG_LENGTH;
  const dec = await GcmStreamDecryptor.create(key, nonce, options);
  const out = bytes(ctLen);
  let o = 0;
  const sink = (b: Bytes): void => {
    out.set(b, o);
    o += b.length;
  };
  try {
    await dec.write(ciphertextWithTag.subarray(0, ctLen), sink);
    await dec.finish(sink, ciphertextWithTag.subarray(ctLen));
  } catch (e) {
    out.fill(0);
    throw e;
  }
  return out;
}
