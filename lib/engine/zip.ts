/**
 * Streaming ZIP writer (APPNOTE 6.3.x subset): store method (no compression), data descriptors (bit 3:
 * sizes and CRC follow the data, so nothing is buffered), UTF-8 names (bit 11), ZIP64 for entries and
 * archives beyond 4 GiB / 65 535 entries. Entries are read one after the other from their streams.
 */
import { fail } from '../errors';

export interface ZipEntry {
  /** Path inside the archive with "/" separators; directories end with "/". */
  readonly name: string;
  readonly lastModified?: Date | undefined;
  /** Exact size of a file entry, if known (decides ZIP64 for the entry; checked while writing). */
  readonly size?: number | undefined;
  /** Opens the file's bytes; absent for directories. */
  readonly open?: () => Promise<ReadableStream<Uint8Array>>;
}

export interface ZipOptions {
  /** 'auto' (default): ZIP64 only where needed (and for entries of unknown size); 'always': everywhere. */
  zip64?: 'auto' | 'always';
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC) update; start with 0. */
export function crc32(crc: number, data: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

class Writer {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  private o = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.o, v, true);
    this.o += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.o, v >>> 0, true);
    this.o += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.o, BigInt(v), true);
    this.o += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.buf.set(b, this.o);
    this.o += b.length;
    return this;
  }
}

function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.min(2107, Math.max(1980, d.getFullYear()));
  if (year !== d.getFullYear()) return { time: 0, date: ((year - 1980) << 9) | (1 << 5) | 1 };
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

function checkName(name: string): void {
  if (name === '' || name.startsWith('/') || name.split('/').some((s) => s === '..') || name.includes('\\')) {
    throw fail('internal', 'A zip entry name is unsafe. This is a bug. Report it.');
  }
}

interface Written {
  name: Uint8Array;
  dir: boolean;
  time: number;
  date: number;
  crc: number;
  size: number;
  offset: number;
  zip64: boolean;
}

const FLAGS = 0x0008 | 0x0800;

async function* zipChunks(
  entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>,
  o: ZipOptions,
): AsyncGenerator<Uint8Array> {
  const always = o.zip64 === 'always';
  const written: Written[] = [];
  let offset = 0;
  for await (const e of entries) {
    checkName(e.name);
    const dir = e.name.endsWith('/');
    const name = new TextEncoder().encode(e.name);
    const { time, date } = dosDateTime(e.lastModified ?? new Date());
    const zip64 = !dir && (always || e.size === undefined || e.size >= MAX32);
    const w: Written = { name, dir, time, date, crc: 0, size: 0, offset, zip64 };
    const local = new Writer(30 + name.length + (zip64 ? 20 : 0))
      .u32(0x04034b50)
      .u16(zip64 || always ? 45 : 20)
      .u16(dir ? 0x0800 : FLAGS)
      .u16(0)
      .u16(time)
      .u16(date)
      .u32(0)
      .u32(zip64 ? MAX32 : 0)
      .u32(zip64 ? MAX32 : 0)
      .u16(name.length)
      .u16(zip64 ? 20 : 0)
      .bytes(name);
    if (zip64) local.u16(0x0001).u16(16).u64(0).u64(0);
    yield local.buf;
    offset += local.buf.length;
    if (!dir) {
      if (!e.open) throw fail('internal', 'A zip file entry has no content. This is a bug. Report it.');
      const reader = (await e.open()).getReader();
      let crc = 0;
      let size = 0;
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          crc = crc32(crc, r.value);
          size += r.value.length;
          if (!zip64 && size >= MAX32) throw sizeError();
          yield r.value;
        }
      } finally {
        reader.releaseLock();
      }
      if (e.size !== undefined && size !== e.size) throw sizeError();
      w.crc = crc;
      w.size = size;
      const dd = new Writer(zip64 ? 24 : 16).u32(0x08074b50).u32(crc);
      if (zip64) dd.u64(size).u64(size);
      else dd.u32(size).u32(size);
      yield dd.buf;
      offset += size + dd.buf.length;
    }
    written.push(w);
  }
  // central directory
  const cdStart = offset;
  for (const w of written) {
    const bigSize = w.zip64 || w.size >= MAX32;
    const bigOffset = w.offset >= MAX32;
    const extra = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
    const needs64 = bigSize || bigOffset;
    const h = new Writer(46 + w.name.length + (extra > 0 ? 4 + extra : 0))
      .u32(0x02014b50)
      .u16(needs64 ? 45 : 20)
      .u16(needs64 ? 45 : 20)
      .u16(w.dir ? 0x0800 : FLAGS)
      .u16(0)
      .u16(w.time)
      .u16(w.date)
      .u32(w.crc)
      .u32(bigSize ? MAX32 : w.size)
      .u32(bigSize ? MAX32 : w.size)
      .u16(w.name.length)
      .u16(extra > 0 ? 4 + extra : 0)
      .u16(0)
      .u16(0)
      .u16(0)
      .u32(w.dir ? 0x10 : 0)
      .u32(bigOffset ? MAX32 : w.offset)
      .bytes(w.name);
    if (extra > 0) {
      h.u16(0x0001).u16(extra);
      if (bigSize) h.u64(w.size).u64(w.size);
      if (bigOffset) h.u64(w.offset);
    }
    yield h.buf;
    offset += h.buf.length;
  }
  const cdSize = offset - cdStart;
  const n = written.length;
  const big = always || n >= MAX16 || cdStart >= MAX32 || cdSize >= MAX32;
  if (big) {
    const z64Offset = offset;
    yield new Writer(56)
      .u32(0x06064b50)
      .u64(44)
      .u16(45)
      .u16(45)
      .u32(0)
      .u32(0)
      .u64(n)
      .u64(n)
      .u64(cdSize)
      .u64(cdStart).buf;
    yield new Writer(20).u32(0x07064b50).u32(0).u64(z64Offset).u32(1).buf;
  }
  yield new Writer(22)
    .u32(0x06054b50)
    .u16(0)
    .u16(0)
    .u16(big ? MAX16 : n)
    .u16(big ? MAX16 : n)
    .u32(big ? MAX32 : cdSize)
    .u32(big ? MAX32 : cdStart)
    .u16(0).buf;
}

function sizeError(): Error {
  return fail(
    'format',
    'A file for the zip archive did not have its expected size. It may have changed on the server. The archive is incomplete; try again.',
  );
}

/** The archive as a stream (pull-based: one entry is read at a time, memory stays bounded). */
export function createZipStream(
  entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>,
  o: ZipOptions = {},
): ReadableStream<Uint8Array> {
  const gen = zipChunks(entries, o);
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await gen.next();
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
      async cancel(reason) {
        await gen.throw(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
