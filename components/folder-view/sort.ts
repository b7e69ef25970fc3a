/** Sorting and filtering of a listing (pure). Folders first, like Nextcloud. */
import type { FolderEntryInfo } from '@/lib/messages';

export type SortKey = 'name' | 'size' | 'mtime';
export type SortDir = 'asc' | 'desc';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export function sortEntries(
  entries: readonly FolderEntryInfo[],
  key: SortKey,
  dir: SortDir,
): FolderEntryInfo[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...entries].sort((a, b) => {
    if (a.kind !== b.kind) return a.kind === 'folder' ? -1 : 1;
    let c = 0;
    if (key === 'size') c = (a.size ?? -1) - (b.size ?? -1);
    else if (key === 'mtime') c = (a.mtime ?? 0) - (b.mtime ?? 0);
    if (c === 0) c = collator.compare(a.name, b.name);
    return c * sign;
  });
}

export function filterEntries(entries: readonly FolderEntryInfo[], query: string): FolderEntryInfo[] {
  const q = query.trim().toLocaleLowerCase();
  if (!q) return [...entries];
  return entries.filter((e) => e.name.toLocaleLowerCase().includes(q));
}

/** A name not yet used in the folder: "name (2).ext". */
export function freeName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  const m = /^(.*?)(\.[^.]{1,10})?$/.exec(name)!;
  for (let i = 2; i < 10_000; i++) {
    const candidate = `${m[1]} (${i})${m[2] ?? ''}`;
    if (!taken.has(candidate)) return candidate;
  }
  return `${name} (${Date.now()})`;
}
