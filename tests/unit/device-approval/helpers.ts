import { fromUtf8, utf8, type Bytes } from '../../../lib/crypto/bytes';
import { MemoryTransport, type ApprovalTransport, type HandledRequests } from '../../../lib/device-approval';

export const WORDS =
  'abandon ability able about above absent absorb abstract absurd abuse access accident'.split(' ');
export const SECRET = { words: WORDS, userId: 'alice', origin: 'https://cloud.example.org' };

export function memoryHandled(): HandledRequests & { ids: Set<string> } {
  const ids = new Set<string>();
  return {
    ids,
    async markHandled(id) {
      if (ids.has(id)) return false;
      ids.add(id);
      return true;
    },
    async isHandled(id) {
      return ids.has(id);
    },
  };
}

export function testClock(start = 1_750_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/**
 * One device's view of the server. `rewrite` lets a test play a malicious server that shows this device
 * something else than what is stored; `puts` records what the device wrote.
 */
export function view(
  base: MemoryTransport,
  rewrite?: (path: string, data: Bytes) => Bytes | null,
): ApprovalTransport & { puts: Array<{ path: string; data: Bytes }> } {
  const puts: Array<{ path: string; data: Bytes }> = [];
  return {
    puts,
    async put(path, data, options) {
      puts.push({ path, data });
      return base.put(path, data, options);
    },
    async get(path) {
      const v = await base.get(path);
      return v && rewrite ? rewrite(path, v) : v;
    },
    list: (dir) => base.list(dir),
    delete: (path) => base.delete(path),
  };
}

export function editJson(data: Bytes, edit: (o: Record<string, unknown>) => void): Bytes {
  const o = JSON.parse(fromUtf8(data)) as Record<string, unknown>;
  edit(o);
  return utf8(JSON.stringify(o));
}
