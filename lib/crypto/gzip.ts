/**
 * gzip (RFC 1952) via CompressionStream / DecompressionStream, available in Node >= 18 and browsers.
 * `gunzip` enforces an output limit so a hostile document cannot exhaust memory (zip bomb).
 */
import { fail } from '../errors';
import { concatBytes, type Bytes } from './bytes';

export const DEFAULT_GUNZIP_LIMIT = 256 * 1024 * 1024;

async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Bytes> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw fail('format', 'Compressed data expands beyond the allowed size. It may be hostile or damaged.');
    }
    parts.push(value);
  }
  return concatBytes(...parts);
}

function pipeThrough(
  data: Bytes,
  transform: CompressionStream | DecompressionStream,
): ReadableStream<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(data);
      controller.close();
    },
  });
  return source.pipeThrough(transform as unknown as TransformStream<Uint8Array, Uint8Array>);
}

export async function gzip(data: Bytes): Promise<Bytes> {
  return collect(pipeThrough(data, new CompressionStream('gzip')), Number.MAX_SAFE_INTEGER);
}

export async function gunzip(data: Bytes, limit = DEFAULT_GUNZIP_LIMIT): Promise<Bytes> {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b) {
    throw fail('format', 'Data that should be gzip-compressed is not. It may be damaged.');
  }
  try {
    return await collect(pipeThrough(data, new DecompressionStream('gzip')), limit);
  } catch (e) {
    if (e instanceof Error && e.name === 'CipherfoldError') throw e;
    throw fail('format', 'Compressed data is damaged and cannot be expanded.', { cause: e });
  }
}
