/**
 * The `cipherfold backup` dump (docs/dump-format.md, format 1): types, a strict validator and the
 * serialiser. Pure and portable; the CLI does the file-system work.
 *
 * The validator rejects anything that does not match the documented layout (unknown members, wrong
 * types, ids that are not numeric, sub-folder names that are not 32-hex ids, children listed before
 * their parents, duplicates) with a `format` error that never quotes the offending value.
 */
import { fail } from '../errors';

export const DUMP_FORMAT = 1;
export const DUMP_FILE_NAME = 'cipherfold-dump.json';
export const DUMP_PAYLOAD_DIR = 'payload';

/** Largest dump JSON accepted (metadata of many folders; far above any real document set). */
export const MAX_DUMP_JSON_CHARS = 512 * 1024 * 1024;

export interface DumpFolder {
  /** Numeric Nextcloud file id as a string. */
  readonly fileId: string;
  /** null for an encrypted root, else the containing folder's file id (listed earlier). */
  readonly parentFileId: string | null;
  /** WebDAV name: the clear name for a root, the 32-hex id for a sub-folder. */
  readonly name: string;
  /** The metadata document exactly as the server returned it. */
  readonly metadata: string;
  /** `X-NC-E2EE-SIGNATURE` as returned, or null when the server sent none (1.x). */
  readonly signature: string | null;
}

export interface Dump {
  readonly format: 1;
  readonly server?: string;
  readonly user: string;
  readonly serverPublicKey: string;
  readonly certificate: string;
  readonly encryptedPrivateKey: string;
  readonly folders: readonly DumpFolder[];
  readonly knownCounters?: Readonly<Record<string, number>>;
}

const TOP_MEMBERS = new Set([
  'format',
  'server',
  'user',
  'serverPublicKey',
  'certificate',
  'encryptedPrivateKey',
  'folders',
  'knownCounters',
]);
const FOLDER_MEMBERS = new Set(['fileId', 'parentFileId', 'name', 'metadata', 'signature']);
const FILE_ID = /^[0-9]{1,20}$/;
const UUID32 = /^[0-9a-fA-F]{32}$/;

function bad(what: string): never {
  throw fail(
    'format',
    `The backup dump is not valid: ${what}. It may be damaged, incomplete or not a Cipherfold dump. Run the backup again, or restore the file from another copy.`,
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

function str(o: Record<string, unknown>, k: string, what: string, allowEmpty = false): string {
  const v = own(o, k);
  if (typeof v !== 'string') bad(`${what} is missing or not a string`);
  if (!allowEmpty && v.length === 0) bad(`${what} is empty`);
  return v;
}

/** A folder name that is safe as one path segment on the server side (clear names are sanitised later). */
function checkRootName(name: string, i: number): void {
  if (name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    bad(`folders[${i}].name is not a single folder name`);
  }
}

/** Counter map `{ "<fileId>": <non-negative integer> }`, shared by the dump and `--known-counters`. */
export function validateKnownCounters(v: unknown, what = 'knownCounters'): Record<string, number> {
  if (!isRecord(v)) bad(`${what} is not an object`);
  const out = Object.create(null) as Record<string, number>;
  for (const k of Object.keys(v)) {
    if (!FILE_ID.test(k)) bad(`${what} has a key that is not a numeric file id`);
    const n = v[k];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      bad(`${what} has a value that is not a non-negative integer`);
    }
    out[k] = n;
  }
  return out;
}

/** Parses the text of a `--known-counters` file. */
export function parseKnownCounters(text: string): Record<string, number> {
  let v: unknown;
  try {
    v = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw fail(
      'format',
      'The known-counters file is not valid JSON. It may be damaged. It must be an object like {"101": 7}.',
    );
  }
  return validateKnownCounters(v, 'the known-counters file');
}

/** Strictly validates a parsed dump value. */
export function validateDump(v: unknown): Dump {
  if (!isRecord(v)) bad('the top level is not an object');
  for (const k of Object.keys(v)) if (!TOP_MEMBERS.has(k)) bad('it has an unknown member');
  if (own(v, 'format') !== DUMP_FORMAT) bad('"format" is not 1 (unsupported or missing format version)');
  const server = own(v, 'server');
  if (server !== undefined && typeof server !== 'string') bad('"server" is not a string');
  const user = str(v, 'user', '"user"');
  if (user.includes('/') || user.includes('\0')) bad('"user" is not a user id');
  const serverPublicKey = str(v, 'serverPublicKey', '"serverPublicKey"');
  if (!serverPublicKey.includes('-----BEGIN PUBLIC KEY-----'))
    bad('"serverPublicKey" is not a PEM public key');
  const certificate = str(v, 'certificate', '"certificate"');
  if (!certificate.includes('-----BEGIN CERTIFICATE-----')) bad('"certificate" is not a PEM certificate');
  const encryptedPrivateKey = str(v, 'encryptedPrivateKey', '"encryptedPrivateKey"');
  const foldersValue = own(v, 'folders');
  if (!Array.isArray(foldersValue)) bad('"folders" is not a list');
  const seen = new Set<string>();
  const folders: DumpFolder[] = [];
  foldersValue.forEach((f: unknown, i: number) => {
    if (!isRecord(f)) bad(`folders[${i}] is not an object`);
    for (const k of Object.keys(f)) if (!FOLDER_MEMBERS.has(k)) bad(`folders[${i}] has an unknown member`);
    const fileId = str(f, 'fileId', `folders[${i}].fileId`);
    if (!FILE_ID.test(fileId)) bad(`folders[${i}].fileId is not a numeric file id`);
    if (seen.has(fileId)) bad(`folders[${i}].fileId is listed twice`);
    const parent = own(f, 'parentFileId');
    if (parent !== null && typeof parent !== 'string')
      bad(`folders[${i}].parentFileId is not a string or null`);
    if (parent !== null && !seen.has(parent)) bad(`folders[${i}] comes before its parent folder`);
    const name = str(f, 'name', `folders[${i}].name`);
    if (parent === null) checkRootName(name, i);
    else if (!UUID32.test(name)) bad(`folders[${i}].name is not a 32-digit encrypted id`);
    const metadata = str(f, 'metadata', `folders[${i}].metadata`);
    const signature = own(f, 'signature');
    if (signature !== null && typeof signature !== 'string')
      bad(`folders[${i}].signature is not a string or null`);
    seen.add(fileId);
    folders.push({ fileId, parentFileId: parent, name, metadata, signature });
  });
  const kc = own(v, 'knownCounters');
  const dump: Dump = {
    format: 1,
    ...(server === undefined ? {} : { server }),
    user,
    serverPublicKey,
    certificate,
    encryptedPrivateKey,
    folders,
    ...(kc === undefined ? {} : { knownCounters: validateKnownCounters(kc) }),
  };
  return dump;
}

/** Parses and strictly validates the text of `cipherfold-dump.json`. */
export function parseDump(text: string): Dump {
  if (typeof text !== 'string' || text.length > MAX_DUMP_JSON_CHARS) bad('the file is too large');
  let v: unknown;
  try {
    v = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    bad('it is not valid JSON');
  }
  return validateDump(v);
}

/** The dump JSON as written by `cipherfold backup` (members in the documented order). */
export function serialiseDump(dump: Dump): string {
  return JSON.stringify(validateDump(JSON.parse(JSON.stringify(dump)) as unknown), null, 2) + '\n';
}
