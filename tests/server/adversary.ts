/** Adversarial switches for reliability/security tests: replay, tamper, forged keys, failing requests. */
import type { MetaDoc } from './storage';

export type TamperFn = (text: string, signature: string) => MetaDoc | Promise<MetaDoc>;

/** What to do with a matching request. */
export type FailAction =
  { status: number; body?: string; headers?: Record<string, string> } | 'hang' | 'destroy';

export interface RequestMatcher {
  /** HTTP method, case-insensitive; any when omitted */
  method?: string;
  /** tested against pathname + search, e.g. `/ocs/v2.php/apps/end_to_end_encryption/api/v2/lock/123?format=json` */
  path: RegExp;
}

export interface FailRule extends RequestMatcher {
  action: FailAction;
  /** how many matching requests to fail (default 1) */
  times?: number;
}

export interface ForceRule extends RequestMatcher {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** default: until cleared */
  times?: number;
}

interface ActiveRule extends RequestMatcher {
  id: number;
  action: FailAction;
  remaining: number;
}

/** Rewrites the body of a WebDAV PUT before it is stored (a server that edits what clients upload). */
export type UploadRewrite = (body: Buffer, path: string) => Buffer;

export class Adversary {
  /** folder id → history index (negative counts from the end: -2 = previous committed version) */
  replay = new Map<number, number>();
  tamper = new Map<number, TamperFn>();
  forgedCerts = new Map<string, string>();
  serverKeyPem: string | undefined;
  uploadRewrites: { path: RegExp; fn: UploadRewrite }[] = [];
  private rules: ActiveRule[] = [];
  private nextId = 1;

  addRule(m: RequestMatcher, action: FailAction, times: number): number {
    const id = this.nextId++;
    this.rules.push({ id, method: m.method, path: m.path, action, remaining: times });
    return id;
  }

  removeRule(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  /** The body a PUT to `path` (DAV path in the user's files, e.g. `/a/b.txt`) is stored with. */
  rewriteUpload(path: string, body: Buffer): Buffer {
    let out = body;
    for (const r of this.uploadRewrites) {
      r.path.lastIndex = 0;
      if (r.path.test(path)) out = r.fn(out, path);
    }
    return out;
  }

  /** Returns the action for this request (consuming one use), or undefined. */
  match(method: string, pathAndQuery: string): FailAction | undefined {
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      if (r.method && r.method.toUpperCase() !== method.toUpperCase()) continue;
      r.path.lastIndex = 0;
      if (!r.path.test(pathAndQuery)) continue;
      r.remaining--;
      if (r.remaining <= 0) this.removeRule(r.id);
      return r.action;
    }
    return undefined;
  }

  reset(): void {
    this.replay.clear();
    this.tamper.clear();
    this.forgedCerts.clear();
    this.serverKeyPem = undefined;
    this.uploadRewrites = [];
    this.rules = [];
  }

  /** The metadata a reader gets for a folder, after replay/tamper switches. */
  async served(
    folderId: number,
    committed: MetaDoc | undefined,
    history: MetaDoc[],
  ): Promise<MetaDoc | undefined> {
    let doc = committed;
    const idx = this.replay.get(folderId);
    if (idx !== undefined && history.length) {
      const i = idx < 0 ? history.length + idx : idx;
      doc = history[Math.max(0, Math.min(history.length - 1, i))];
    }
    const fn = this.tamper.get(folderId);
    if (doc && fn) doc = await fn(doc.text, doc.signature);
    return doc;
  }
}
