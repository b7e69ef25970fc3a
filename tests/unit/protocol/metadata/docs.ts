/**
 * Independent builder of 2.x outer documents with per-client quirks (Node crypto/zlib; the code under test is
 * used only for the CMS signature itself).
 */
import { createHash, randomBytes } from 'node:crypto';
import { b64, nodeEncryptJson, nodeOaep, signText, sortedJson, type TestUser } from './fixtures';

export interface DocSpec {
  /** Root members (undefined → sub-folder). */
  users?: TestUser[];
  /** Write `"users": []` (Android sub-folder, G-15). */
  usersEmpty?: boolean;
  inner: Record<string, unknown>;
  key?: Buffer;
  nonceLength?: number;
  /** Append `|nonce` to ciphertext (desktop/iOS, G-11). */
  suffix?: boolean;
  /** Omit the `nonce` member (only the suffix carries it). */
  noNonceMember?: boolean;
  /** Raw JSON literal for the version, e.g. `"2"`, `2`, `2.0`. Default `"2.0"`. */
  versionLiteral?: string;
  /** Override the authenticationTag member. */
  tagMember?: string;
  /** Extra members per user entry (e.g. encryptedFiledropKey). */
  extraUserMembers?: Record<string, string>;
  /** Raw JSON literal for a filedrop member. */
  filedropLiteral?: string;
  signAs: TestUser;
  signForm?: 'sorted' | 'stored' | 'desktop';
  order?: 'sorted' | 'gson' | 'reverse';
  indent?: number;
  /** PHP re-encoding: escape every `/` as `\/`. */
  phpSlashes?: boolean;
}

export interface BuiltDoc {
  text: string;
  signature: string;
  key: Buffer;
}

export function checksumOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function buildDoc(spec: DocSpec): Promise<BuiltDoc> {
  const key = spec.key ?? randomBytes(16);
  const { ct, nonce, tag } = nodeEncryptJson(JSON.stringify(spec.inner), key, spec.nonceLength ?? 12);
  const metadata: Record<string, string> = {};
  const ciphertext = b64(ct) + (spec.suffix ? `|${b64(nonce)}` : '');
  const meta: Array<[string, string | undefined]> = [
    ['ciphertext', ciphertext],
    ['nonce', spec.noNonceMember ? undefined : b64(nonce)],
    ['authenticationTag', spec.tagMember ?? b64(tag)],
  ];
  const order = spec.order ?? 'sorted';
  if (order === 'sorted') meta.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  if (order === 'reverse') meta.reverse();
  for (const [k, v] of meta) if (v !== undefined) metadata[k] = v;

  const users = spec.users?.map((u) => {
    const parts: Array<[string, string]> = [
      ['userId', u.userId],
      ['certificate', u.certificatePem],
      ['encryptedMetadataKey', nodeOaep(u.publicPem, key)],
      ...Object.entries(spec.extraUserMembers ?? {}),
    ];
    if (order === 'sorted') parts.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    if (order === 'reverse') parts.reverse();
    return Object.fromEntries(parts);
  });
  const outer: Array<[string, unknown]> = [['metadata', metadata]];
  if (users) outer.push(['users', users]);
  else if (spec.usersEmpty) outer.push(['users', []]);
  outer.push(['version', '__VERSION__']);
  if (spec.filedropLiteral !== undefined) outer.push(['filedrop', '__FILEDROP__']);
  if (order === 'sorted') outer.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  if (order === 'reverse') outer.reverse();
  let text = JSON.stringify(Object.fromEntries(outer), null, spec.indent);
  text = text.replace('"__VERSION__"', spec.versionLiteral ?? '"2.0"');
  if (spec.filedropLiteral !== undefined) text = text.replace('"__FILEDROP__"', spec.filedropLiteral);
  if (spec.phpSlashes) text = text.replace(/\//g, '\\/');

  // What the signer signed: derived from the parsed document, filedrop removed.
  const parsed = JSON.parse(text) as Record<string, unknown>;
  delete parsed['filedrop'];
  let signed: string;
  if (spec.signForm === 'stored') signed = JSON.stringify(parsed);
  else if (spec.signForm === 'desktop') {
    const u = parsed['users'] as Record<string, unknown>[] | undefined;
    if (u) for (const e of u) delete e['encryptedFiledropKey'];
    signed = sortedJson(parsed);
  } else signed = sortedJson(parsed);
  return { text, signature: await signText(signed, spec.signAs), key };
}

export function innerDoc(over: Record<string, unknown> = {}, key?: Buffer): Record<string, unknown> {
  return {
    counter: 3,
    deleted: false,
    ...(key ? { keyChecksums: [checksumOf(key)] } : {}),
    folders: {},
    files: {},
    ...over,
  };
}

export function fileJson(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    filename: name,
    mimetype: 'application/pdf',
    key: b64(randomBytes(16)),
    nonce: b64(randomBytes(16)),
    authenticationTag: b64(randomBytes(16)),
    ...extra,
  };
}

export const hexId = (): string => randomBytes(16).toString('hex');
