/** Plain (decoded) server paths below the user's files root, as the engine uses them. */
import { fail } from '../errors';

export function joinPath(parent: string, name: string): string {
  return (parent.endsWith('/') ? parent : parent + '/') + name;
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** "/a/b/c" → "/a/b"; "/a" → "/". */
export function parentOf(path: string): string {
  const segs = splitPath(path);
  segs.pop();
  return '/' + segs.join('/');
}

/** Longest common ancestor path of two paths ("/" when they share nothing). */
export function commonAncestor(a: string, b: string): string {
  const x = splitPath(a);
  const y = splitPath(b);
  const out: string[] = [];
  for (let i = 0; i < Math.min(x.length, y.length) && x[i] === y[i]; i++) out.push(x[i]!);
  return '/' + out.join('/');
}

/** True when `inner` is `outer` or lies below it. */
export function isSameOrBelow(inner: string, outer: string): boolean {
  const x = splitPath(inner);
  const y = splitPath(outer);
  return y.length <= x.length && y.every((s, i) => x[i] === s);
}

/** A clear file or folder name as users type it (it only ever lives inside encrypted metadata). */
export function checkClearName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\u0000')) {
    throw fail(
      'format',
      'This name is not allowed. It is empty, "." or "..", or contains "/". Choose another name.',
    );
  }
}
