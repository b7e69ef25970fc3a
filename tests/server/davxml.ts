/** XML helpers for WebDAV: escaping, Sabre error bodies, PROPFIND request parsing. */

export const NS_DAV = 'DAV:';
export const NS_OC = 'http://owncloud.org/ns';
export const NS_NC = 'http://nextcloud.org/ns';
export const NS_SABRE = 'http://sabredav.org/ns';

/**
 * Escape text content for XML. `\r` becomes `&#13;` so that parsers do not normalise CRLF (Sabre/XMLWriter
 * does the same); characters that XML 1.0 cannot carry are replaced by U+FFFD.
 */
export function xmlText(s: string): string {
  return s
    .replace(/[&<>"\r]/g, (c) =>
      c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#13;',
    )
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
}

export function sabreError(exception: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n' +
    `  <s:exception>${xmlText(exception)}</s:exception>\n  <s:message>${xmlText(message)}</s:message>\n</d:error>\n`
  );
}
