/**
 * The device-approval relay over WebDAV: a flat folder `/.cipherfold/devices/` in the user's own files
 * (docs/device-approval.md §7). Only opaque public keys, commitments, nonces, ciphertext and timestamps go
 * there — the files the protocol in lib/device-approval defines, plus `seen-<deviceId>.json` presence notes.
 *
 * Create-only writes: `DavApi.upload` has no `If-None-Match`, so `put(…, { create: true })` checks first and
 * then writes. Two trusted devices racing inside that window both write `ans`; the protocol's second line
 * (the reveal names the trusted key it answered, the loser stands down as `taken`) covers it.
 */
import { fail, isCipherfoldError } from '../../errors';
import type { Bytes } from '../../crypto/bytes';
import type { ApprovalTransport } from '../../device-approval';
import type { NextcloudClient } from '../../nextcloud';

export const DEVICES_DIR = '/.cipherfold/devices';
const PARENT_DIR = '/.cipherfold';
/** Protocol files are ≤ 16 KiB; anything bigger is not read to the end. */
const MAX_READ_BYTES = 64 * 1024;
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

function checkName(path: string): string {
  if (!NAME_RE.test(path) || path.includes('..')) {
    throw fail(
      'format',
      'A device-approval file name is invalid. This is a bug in Cipherfold. Please report it.',
    );
  }
  return `${DEVICES_DIR}/${path}`;
}

export class DavApprovalTransport implements ApprovalTransport {
  private ensured: Promise<void> | undefined;

  constructor(private readonly client: NextcloudClient) {}

  async put(path: string, data: Bytes, options?: { create?: boolean }): Promise<void> {
    const full = checkName(path);
    await this.ensureDir();
    if (options?.create && (await this.exists(full))) {
      throw fail(
        'conflict',
        'The file already exists. Another device wrote it first. Refresh and try again.',
      );
    }
    await this.client.dav.upload(full, data, { contentType: 'application/json' });
  }

  async get(path: string): Promise<Bytes | null> {
    const full = checkName(path);
    let d;
    try {
      d = await this.client.dav.download(full);
    } catch (e) {
      if (isCipherfoldError(e, 'not-found')) return null;
      throw e;
    }
    return readLimited(d.body, MAX_READ_BYTES);
  }

  async list(dir: string): Promise<string[]> {
    if (dir !== '') throw fail('format', 'Device approval uses one flat folder. This is a bug; report it.');
    let entries;
    try {
      entries = await this.client.dav.propfind(DEVICES_DIR, { depth: 1 });
    } catch (e) {
      if (isCipherfoldError(e, 'not-found')) return [];
      throw e;
    }
    return entries
      .filter((e) => !e.isFolder && e.path.replace(/\/+$/, '') !== DEVICES_DIR)
      .map((e) => e.name)
      .filter((n) => NAME_RE.test(n));
  }

  async delete(path: string): Promise<void> {
    const full = checkName(path);
    try {
      await this.client.dav.delete(full, { skipTrashbin: true });
    } catch (e) {
      if (!isCipherfoldError(e, 'not-found')) throw e;
    }
  }

  private async exists(full: string): Promise<boolean> {
    try {
      await this.client.dav.propfind(full, { depth: 0 });
      return true;
    } catch (e) {
      if (isCipherfoldError(e, 'not-found')) return false;
      throw e;
    }
  }

  /** Creates `/.cipherfold/devices/` (and its parent) once per transport when missing. */
  private ensureDir(): Promise<void> {
    this.ensured ??= (async () => {
      if (await this.exists(DEVICES_DIR)) return;
      for (const dir of [PARENT_DIR, DEVICES_DIR]) {
        try {
          await this.client.dav.mkcol(dir);
        } catch (e) {
          // 405 (exists already, e.g. created by another device meanwhile) is fine; anything else is checked below.
          if (!isCipherfoldError(e)) throw e;
        }
      }
      if (!(await this.exists(DEVICES_DIR))) {
        throw fail(
          'server',
          'Cipherfold could not create its folder “.cipherfold/devices” in your Nextcloud files. The storage may be full or read-only. Check your Nextcloud, then try again.',
        );
      }
    })().catch((e: unknown) => {
      this.ensured = undefined;
      throw e;
    });
    return this.ensured;
  }
}

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Bytes> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      break; // the protocol parser refuses the oversized (truncated) file
    }
    chunks.push(value);
  }
  if (total > limit) return new Uint8Array(new ArrayBuffer(limit + 1)) as Bytes; // refused by the parser
  const out = new Uint8Array(new ArrayBuffer(total));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out as Bytes;
}
