/**
 * PEM (RFC 7468). The reader is lenient, because keys and certificates come from many clients: CRLF or
 * LF, any line length (Android writes 65), missing trailing newline, text around the block, and bare
 * base64 without armour. The writer is strict: 64-character lines, `\n`, trailing newline.
 */
import { fail } from '../errors';
import { fromBase64, toBase64, type Bytes } from './bytes';

const MAX_PEM_CHARS = 4 * 1024 * 1024;

function malformed(what: string): never {
  throw fail(
    'format',
    `${what} is not valid PEM. It may be damaged or incomplete. Copy it again, including the BEGIN and END lines.`,
  );
}

/**
 * Decodes the first PEM block of `text` (or bare base64). With `expectedLabels`, an armoured block must
 * carry one of those labels; bare base64 is accepted and reported with `label: null`.
 */
export function pemDecode(text: string, expectedLabels?: string[]): { label: string | null; der: Bytes } {
  const what = expectedLabels?.length ? `A ${expectedLabels[0]!.toLowerCase()}` : 'A PEM value';
  if (typeof text !== 'string' || text.length > MAX_PEM_CHARS) malformed(what);
  const begin = text.indexOf('-----BEGIN ');
  if (begin < 0) {
    const bare = text.replace(/^\uFEFF/, '').trim();
    if (bare.length === 0 || !/^[A-Za-z0-9+/=_\-\s]+$/.test(bare)) malformed(what);
    const der = fromBase64(bare, what);
    if (der.length === 0) malformed(what);
    return { label: null, der };
  }
  const labelStart = begin + 11;
  const labelEnd = text.indexOf('-----', labelStart);
  if (labelEnd < 0) malformed(what);
  const label = text.slice(labelStart, labelEnd).trim();
  if (!/^[A-Z0-9][A-Z0-9 #-]{0,63}$/.test(label)) malformed(what);
  const bodyStart = labelEnd + 5;
  const endMarker = `-----END ${label}-----`;
  const bodyEnd = text.indexOf(endMarker, bodyStart);
  if (bodyEnd < 0) malformed(what);
  if (expectedLabels && !expectedLabels.includes(label)) {
    throw fail(
      'format',
      `${what} was expected, but the PEM block is labelled "${label}". The wrong file or value may have been used.`,
    );
  }
  const body = text.slice(bodyStart, bodyEnd);
  // RFC 1421 headers (e.g. "Proc-Type: 4,ENCRYPTED") mean an encrypted legacy key, which we do not read.
  if (body.includes(':')) {
    throw fail(
      'unsupported',
      `${what} is password-protected (legacy PEM encryption). Export it without a password.`,
    );
  }
  const der = fromBase64(body, what);
  if (der.length === 0) malformed(what);
  return { label, der };
}

export function pemEncode(label: string, der: Bytes): string {
  const b64 = toBase64(der);
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${label}-----\n`;
}
