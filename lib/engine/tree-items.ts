/**
 * Turns the flat list of a folder-tree upload (`Photos/2024/a.jpg` + its bytes) into the nested
 * `TreeItem`s of `uploadTree`, refusing anything that could name a place outside the target folder.
 */
import { fail } from '../errors';
import type { TreeUploadItem } from '../messages/folder';
import type { TreeItem } from './ops';
import type { PlainSource } from './transfers';

const MAX_DEPTH = 32;

/** The path segments of `relPath`, or a `format` error for empty, `.`, `..` or over-long segments. */
export function treeSegments(relPath: string): string[] {
  const parts = relPath.split('/');
  if (
    parts.length > MAX_DEPTH ||
    parts.some((p) => p === '' || p === '.' || p === '..' || p.length > 255 || p.includes('\0'))
  ) {
    throw fail(
      'format',
      'A file in this folder has a path Cipherfold cannot upload (empty, "." or ".." parts, or nested too deep). Nothing was uploaded. Rename it and try again.',
    );
  }
  return parts;
}

interface MutableFolder {
  kind: 'folder';
  name: string;
  children: (MutableFolder | { kind: 'file'; source: PlainSource })[];
  byName: Map<string, MutableFolder | 'file'>;
}

/** Builds the tree; `sourceOf(i)` is the bytes of item i. Two items with the same path are refused. */
export function buildTree(
  items: readonly TreeUploadItem[],
  sourceOf: (index: number) => PlainSource,
): TreeItem[] {
  const top: MutableFolder = { kind: 'folder', name: '', children: [], byName: new Map() };
  items.forEach((item, index) => {
    const parts = treeSegments(item.relPath);
    let at = top;
    for (const dir of parts.slice(0, -1)) {
      const existing = at.byName.get(dir);
      if (existing === 'file') throw duplicate();
      if (existing) {
        at = existing;
        continue;
      }
      const made: MutableFolder = { kind: 'folder', name: dir, children: [], byName: new Map() };
      at.byName.set(dir, made);
      at.children.push(made);
      at = made;
    }
    const name = parts[parts.length - 1]!;
    if (at.byName.has(name)) throw duplicate();
    at.byName.set(name, 'file');
    at.children.push({ kind: 'file', source: sourceOf(index) });
  });
  return strip(top).children;
}

function strip(f: MutableFolder): { kind: 'folder'; name: string; children: TreeItem[] } {
  return {
    kind: 'folder',
    name: f.name,
    children: f.children.map((c) => (c.kind === 'file' ? c : strip(c))),
  };
}

function duplicate(): Error {
  return fail(
    'conflict',
    'Two items to upload have the same path. Nothing was uploaded. Rename one and try again.',
  );
}
