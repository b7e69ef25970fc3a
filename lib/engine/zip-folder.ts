/**
 * Download a selection of an opened folder (files and whole sub-folder trees) as one zip, built from
 * decrypted file streams. Every file is verified by its GCM tag as it is read; a failed tag errors the zip
 * stream, and `downloadZipTo` then calls the sink's `abort` (never `close`): only a complete archive whose
 * every member verified is committed.
 */
import type { Uuid32 } from '../protocol/metadata';
import type { E2eeSession, OpenedFolder } from './folders';
import { joinPath } from './paths';
import { openDecrypted, pump, meter, type DownloadSink, type TransferOptions } from './transfers';
import { createZipStream, type ZipEntry, type ZipOptions } from './zip';

/** A clear name made safe as one zip path segment (other clients may allow "/" or "\"). */
function segment(name: string): string {
  const s = name.replace(/[/\\]/g, '_').split(String.fromCharCode(0)).join('_');
  return s === '.' || s === '..' || s === '' ? '_' : s;
}

function unique(name: string, used: Set<string>): string {
  let n = name;
  for (let i = 2; used.has(n.toLowerCase()); i++) n = name.replace(/(\.[^.]*)?$/, ` (${i})$1`);
  used.add(n.toLowerCase());
  return n;
}

async function* entriesOf(
  session: E2eeSession,
  folder: OpenedFolder,
  ids: readonly Uuid32[] | undefined,
  prefix: string,
  o: TransferOptions,
): AsyncGenerator<ZipEntry> {
  const used = new Set<string>();
  for (const e of folder.entries) {
    if (e.missing || (ids !== undefined && !ids.includes(e.id))) continue;
    const name = prefix + unique(segment(e.name), used);
    if (e.kind === 'file') {
      yield {
        name,
        lastModified: e.lastModified,
        size: e.size,
        open: async () => (await openDecrypted(session.client, folder, e.id, { signal: o.signal })).stream,
      };
    } else {
      yield { name: name + '/', lastModified: e.lastModified };
      const sub = await session.open(joinPath(folder.ref.path, e.id));
      yield* entriesOf(session, sub, undefined, name + '/', o);
    }
  }
}

/** The zip of `ids` in `folder` (all entries when omitted) as a stream. Unverified until it ends cleanly. */
export function zipStream(
  session: E2eeSession,
  folder: OpenedFolder,
  ids?: readonly Uuid32[],
  o: TransferOptions & ZipOptions = {},
): ReadableStream<Uint8Array> {
  return createZipStream(entriesOf(session, folder, ids, '', o), o);
}

/** Writes the zip into `sink`: `close` after every member verified, `abort` on any failure. */
export async function downloadZipTo(
  session: E2eeSession,
  folder: OpenedFolder,
  ids: readonly Uuid32[] | undefined,
  sink: DownloadSink | WritableStream<Uint8Array>,
  o: TransferOptions & ZipOptions = {},
): Promise<{ bytes: number }> {
  const stream = zipStream(session, folder, ids, { ...o, onProgress: undefined }).pipeThrough(
    meter(undefined, o),
  );
  return pump(stream, sink, o.signal);
}
