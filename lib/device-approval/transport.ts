/**
 * The relay: a flat directory in the user's own storage (the engine maps it to WebDAV under
 * `/.cipherfold/devices/`). It sees only opaque public keys, commitments and ciphertext.
 */
import { fail } from '../errors';
import { copyBytes, type Bytes } from '../crypto/bytes';

export interface ApprovalTransport {
  /**
   * Writes a file. With `create: true` the write must fail with a `conflict` CipherfoldError if the
   * file exists (WebDAV: `If-None-Match: *`); implementations that cannot guarantee it may check first.
   */
  put(path: string, data: Bytes, options?: { create?: boolean }): Promise<void>;
  /** The file's bytes, or null when it does not exist. */
  get(path: string): Promise<Bytes | null>;
  /** Names (not paths) of the files in `dir` ('' = the approval directory itself). */
  list(dir: string): Promise<string[]>;
  /** Deletes a file; deleting a missing file is not an error. */
  delete(path: string): Promise<void>;
}

/** In-memory transport for tests and demos; `onPut`/`onGet` let a test play a malicious server. */
export class MemoryTransport implements ApprovalTransport {
  readonly files = new Map<string, Bytes>();
  onPut: ((path: string, data: Bytes) => Bytes | null) | undefined;
  onGet: ((path: string, data: Bytes | null) => Bytes | null) | undefined;

  async put(path: string, data: Bytes, options?: { create?: boolean }): Promise<void> {
    if (options?.create && this.files.has(path)) {
      throw fail(
        'conflict',
        'The file already exists. Another device wrote it first. Refresh and try again.',
      );
    }
    const stored = this.onPut ? this.onPut(path, copyBytes(data)) : copyBytes(data);
    if (stored) this.files.set(path, stored);
  }

  async get(path: string): Promise<Bytes | null> {
    const v = this.files.get(path);
    const out = v ? copyBytes(v) : null;
    return this.onGet ? this.onGet(path, out) : out;
  }

  async list(dir: string): Promise<string[]> {
    const prefix = dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
    return [...this.files.keys()]
      .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map((p) => p.slice(prefix.length));
  }

  async delete(path: string): Promise<void> {
    this.files.delete(path);
  }
}
