/**
 * Detached CMS SignedData for metadata signatures (protocol.md §6.8.3, §6.8.4, RFC 5652).
 *
 * Parsing uses a small self-contained BER reader (definite and indefinite lengths, constructed strings,
 * depth and size limits) so that hostile input can only produce typed errors. The signed attributes are kept
 * exactly as received and only re-tagged from [0] to SET (0x31) for verification — never re-sorted or
 * re-encoded (the web client's PKI.js signatures are not in DER SET order). Signing writes DER by hand:
 * IssuerAndSerialNumber, the signer certificate, signed attributes contentType / signingTime / messageDigest
 * in DER SET OF order, `rsaEncryption` as signature algorithm (OpenSSL style).
 */
import { fail, isCipherfoldError } from '../errors';
import { concatBytes, copyBytes, equalBytes, fromBase64, toBase64, type Bytes } from '../crypto/bytes';
import { digest } from '../crypto/hash';
import { pemEncode } from '../crypto/pem';
import { publicSpkiOf, rsaPkcs1Sign, rsaPkcs1Verify, type RsaPrivateKey } from '../crypto/rsa';
import {
  certificateMatchesKey,
  dnToString,
  parseCertificate,
  serialHexOf,
  type ParsedCertificate,
} from './certificate';

export interface CmsSignature {
  der: Bytes;
  signerIssuerDn: string;
  signerSerialHex: string;
  /** PEM */
  embeddedCertificates: string[];
  /** The received signed attributes with the [0] tag replaced by SET (0x31): the bytes the RSA signature covers. */
  signedAttrsDer: Bytes;
  messageDigest: Bytes;
  signature: Bytes;
  signatureHash: 'SHA-256' | 'SHA-1';
}

// ---- object identifiers ----

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha1: '1.3.14.3.2.26',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha1WithRsa: '1.2.840.113549.1.1.5',
} as const;

const DIGEST_OIDS: Record<string, 'SHA-256' | 'SHA-1'> = { [OID.sha256]: 'SHA-256', [OID.sha1]: 'SHA-1' };

// ---- BER reader ----

/** Internal parse failure; converted to a `signature` error at the API boundary. */
class BerError extends Error {}

interface Node {
  /** First identifier octet (class | constructed | number, or 0x1f|class|constructed for high tag numbers). */
  tag: number;
  constructed: boolean;
  start: number;
  contentStart: number;
  /** End of the content (before the end-of-contents octets for indefinite lengths). */
  contentEnd: number;
  end: number;
  indefinite: boolean;
  children: Node[];
}

const MAX_DEPTH = 48;
const MAX_NODES = 200_000;
const MAX_SIGNATURE_BYTES = 1024 * 1024;

function parseBer(b: Uint8Array): Node {
  const budget = { nodes: 0 };
  const root = parseNode(b, 0, b.length, 0, budget);
  // Tolerate trailing zero padding only.
  for (let i = root.end; i < b.length; i++) if (b[i] !== 0) throw new BerError('trailing data');
  return root;
}

function parseNode(
  b: Uint8Array,
  pos: number,
  limit: number,
  depth: number,
  budget: { nodes: number },
): Node {
  if (depth > MAX_DEPTH) throw new BerError('too deep');
  if (++budget.nodes > MAX_NODES) throw new BerError('too many elements');
  const start = pos;
  if (pos >= limit) throw new BerError('truncated tag');
  const tag = b[pos++]!;
  const constructed = (tag & 0x20) !== 0;
  if ((tag & 0x1f) === 0x1f) {
    let n = 0;
    for (;;) {
      if (pos >= limit || ++n > 4) throw new BerError('bad tag');
      if ((b[pos++]! & 0x80) === 0) break;
    }
  }
  if (pos >= limit) throw new BerError('truncated length');
  const first = b[pos++]!;
  const children: Node[] = [];
  if (first === 0x80) {
    if (!constructed) throw new BerError('indefinite primitive');
    const headerEnd = pos;
    for (;;) {
      if (pos + 2 > limit) throw new BerError('missing end-of-contents');
      if (b[pos] === 0 && b[pos + 1] === 0) {
        return {
          tag,
          constructed,
          start,
          contentStart: headerEnd,
          contentEnd: pos,
          end: pos + 2,
          indefinite: true,
          children,
        };
      }
      const child = parseNode(b, pos, limit, depth + 1, budget);
      children.push(child);
      pos = child.end;
    }
  }
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n > 4 || n === 0x7f) throw new BerError('length too long');
    if (pos + n > limit) throw new BerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[pos++]!;
  }
  const contentStart = pos;
  const contentEnd = pos + len;
  if (contentEnd > limit) throw new BerError('content beyond end');
  if (constructed) {
    let p = contentStart;
    while (p < contentEnd) {
      if (b[p] === 0 && p + 1 < contentEnd && b[p + 1] === 0) throw new BerError('stray end-of-contents');
      const child = parseNode(b, p, contentEnd, depth + 1, budget);
      children.push(child);
      p = child.end;
    }
  }
  return { tag, constructed, start, contentStart, contentEnd, end: contentEnd, indefinite: false, children };
}

function kids(n: Node, min: number): Node[] {
  if (!n.constructed || n.children.length < min) throw new BerError('missing elements');
  return n.children;
}

function expectTag(n: Node | undefined, tag: number): Node {
  if (!n || n.tag !== tag) throw new BerError(`expected tag ${tag}`);
  return n;
}

function raw(b: Uint8Array, n: Node): Bytes {
  return copyBytes(b.subarray(n.start, n.end));
}

/** Content octets of a (possibly BER-constructed) string type. */
function octets(b: Uint8Array, n: Node, depth = 0): Bytes {
  if (!n.constructed) return copyBytes(b.subarray(n.contentStart, n.contentEnd));
  if (depth > 8) throw new BerError('nested string too deep');
  return concatBytes(...n.children.map((c) => octets(b, c, depth + 1)));
}

function readOid(b: Uint8Array, n: Node | undefined): string {
  const node = expectTag(n, 0x06);
  const c = b.subarray(node.contentStart, node.contentEnd);
  if (c.length === 0 || c.length > 64 || (c[c.length - 1]! & 0x80) !== 0) throw new BerError('bad OID');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < c.length; i++) {
    if (v === 0 && c[i] === 0x80) throw new BerError('bad OID');
    v = v * 128 + (c[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) throw new BerError('bad OID');
    if ((c[i]! & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  const firstArc = arcs[0]!;
  const head = firstArc < 40 ? [0, firstArc] : firstArc < 80 ? [1, firstArc - 40] : [2, firstArc - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

function readAlgorithmOid(b: Uint8Array, n: Node | undefined): string {
  return readOid(b, kids(expectTag(n, 0x30), 1)[0]);
}

/** Re-encodes a BER tree with definite lengths (element order and primitive contents unchanged). */
function definite(b: Uint8Array, n: Node): Bytes {
  if (!n.constructed) return raw(b, n);
  const tagBytes = b.subarray(n.start, n.start + tagLength(b, n.start));
  const content = concatBytes(...n.children.map((c) => definite(b, c)));
  return concatBytes(tagBytes, derLength(content.length), content);
}

function tagLength(b: Uint8Array, pos: number): number {
  if ((b[pos]! & 0x1f) !== 0x1f) return 1;
  let i = pos + 1;
  while (b[i]! & 0x80) i++;
  return i - pos + 1;
}

function hasIndefinite(n: Node): boolean {
  return n.indefinite || n.children.some(hasIndefinite);
}

// ---- DER writer ----

function derLength(n: number): Bytes {
  if (n < 0x80) return Uint8Array.of(n) as Bytes;
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.of(0x80 | out.length, ...out) as Bytes;
}

function tlv(tag: number, ...content: Uint8Array[]): Bytes {
  const c = concatBytes(...content);
  return concatBytes(Uint8Array.of(tag), derLength(c.length), c);
}

const seq = (...c: Uint8Array[]): Bytes => tlv(0x30, ...c);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** DER SET OF: elements sorted by their encodings. */
const setOf = (...c: Uint8Array[]): Bytes => tlv(0x31, ...[...c].sort(compareBytes));

function oid(dotted: string): Bytes {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const enc = (v: number): void => {
    const tmp = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) tmp.unshift((v & 0x7f) | 0x80);
    out.push(...tmp);
  };
  enc(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) enc(a);
  return tlv(0x06, Uint8Array.from(out));
}

const smallInt = (v: number): Bytes => tlv(0x02, Uint8Array.of(v));
const NULL = Uint8Array.of(0x05, 0x00);

function time(d: Date): Bytes {
  const y = d.getUTCFullYear();
  const p = (v: number): string => String(v).padStart(2, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const ascii = (s: string): Bytes => Uint8Array.from(s, (ch) => ch.charCodeAt(0)) as Bytes;
  // RFC 5652 §11.3: UTCTime for 1950..2049, GeneralizedTime otherwise.
  if (y >= 1950 && y < 2050) return tlv(0x17, ascii(p(y % 100) + rest));
  return tlv(0x18, ascii(String(y).padStart(4, '0') + rest));
}

// ---- signing ----

/** Issuer Name and serial INTEGER of a certificate, as raw encodings. */
function issuerAndSerialOf(certDer: Uint8Array): { issuer: Bytes; serial: Bytes } {
  const cert = parseBer(certDer);
  const tbs = kids(expectTag(kids(expectTag(cert, 0x30), 3)[0], 0x30), 6);
  const i = tbs[0]!.tag === 0xa0 ? 1 : 0;
  return { serial: raw(certDer, expectTag(tbs[i], 0x02)), issuer: raw(certDer, expectTag(tbs[i + 2], 0x30)) };
}

export async function signDetached(
  content: Bytes,
  signer: { key: RsaPrivateKey; certificatePem: string },
  signingTime: Date = new Date(),
): Promise<string> {
  const cert = parseCertificate(signer.certificatePem);
  if (!certificateMatchesKey(cert, await publicSpkiOf(signer.key))) {
    throw fail(
      'certificate',
      'Your certificate does not belong to your private key. The key or the certificate was replaced. Set up this device again from your recovery words.',
    );
  }
  if (Number.isNaN(signingTime.getTime()))
    throw fail('format', 'The signing time is not a valid date. This is a bug; please report it.');
  let sid: { issuer: Bytes; serial: Bytes };
  try {
    sid = issuerAndSerialOf(cert.der);
  } catch (e) {
    throw fail('format', 'Your certificate could not be read. It may be damaged. Set up this device again.', {
      cause: e,
    });
  }
  const md = await digest('SHA-256', content);
  const attrs = [
    seq(oid(OID.contentType), setOf(oid(OID.data))),
    seq(oid(OID.signingTime), setOf(time(signingTime))),
    seq(oid(OID.messageDigest), setOf(tlv(0x04, md))),
  ];
  const signedAttrsSet = setOf(...attrs);
  const signature = await rsaPkcs1Sign(signer.key, signedAttrsSet);
  const signedAttrsImplicit = concatBytes(Uint8Array.of(0xa0), signedAttrsSet.subarray(1));
  const sha256Alg = seq(oid(OID.sha256));
  const signerInfo = seq(
    smallInt(1),
    seq(sid.issuer, sid.serial),
    sha256Alg,
    signedAttrsImplicit,
    seq(oid(OID.rsaEncryption), NULL),
    tlv(0x04, signature),
  );
  const signedData = seq(
    smallInt(1),
    setOf(sha256Alg),
    seq(oid(OID.data)),
    tlv(0xa0, cert.der),
    setOf(signerInfo),
  );
  return toBase64(seq(oid(OID.signedData), tlv(0xa0, signedData)));
}

// ---- parsing ----

function malformedSignature(detail: string, cause?: unknown): never {
  throw fail(
    'signature',
    'The metadata signature is malformed. The metadata may have been changed by someone without a valid key, or a client wrote it incorrectly. Do not trust this folder until its owner saves it again.',
    { detail, cause },
  );
}

function unsupportedSignature(what: string): never {
  throw fail(
    'signature',
    `The metadata signature uses ${what}, which Cipherfold does not support. It may come from an unusual client. Ask the folder owner which app they used.`,
  );
}

interface Attribute {
  type: string;
  values: Node[];
}

function parseAttributes(b: Uint8Array, setNode: Node): Attribute[] {
  const out: Attribute[] = [];
  for (const a of setNode.children) {
    const [t, v] = kids(expectTag(a, 0x30), 2);
    const type = readOid(b, t);
    if (out.some((x) => x.type === type)) throw new BerError('duplicate attribute');
    out.push({ type, values: expectTag(v, 0x31).children });
  }
  return out;
}

function singleValue(attrs: Attribute[], type: string, name: string): Node {
  const a = attrs.find((x) => x.type === type);
  if (!a)
    throw fail(
      'signature',
      `The metadata signature has no ${name} attribute. It is incomplete or not a metadata signature. Do not trust this folder until its owner saves it again.`,
    );
  if (a.values.length !== 1) throw new BerError(`${name} must have one value`);
  return a.values[0]!;
}

export function parseCmsSignature(base64: string): CmsSignature {
  if (typeof base64 !== 'string' || base64.trim() === '') {
    throw fail(
      'signature',
      'The metadata has no signature. It may have been written by an old or faulty client, or changed on the server. Do not trust this folder until its owner saves it again.',
    );
  }
  if (base64.length > (MAX_SIGNATURE_BYTES * 4) / 3 + 4) malformedSignature('too long');
  const der = fromBase64(base64, 'The metadata signature');
  try {
    return parseSignedData(der);
  } catch (e) {
    if (isCipherfoldError(e)) throw e;
    malformedSignature(e instanceof BerError ? e.message : 'unexpected parser failure', e);
  }
}

function parseSignedData(der: Bytes): CmsSignature {
  const ci = kids(expectTag(parseBer(der), 0x30), 2);
  if (readOid(der, ci[0]) !== OID.signedData) throw new BerError('not SignedData');
  const sd = kids(expectTag(kids(expectTag(ci[1], 0xa0), 1)[0], 0x30), 4);
  expectTag(sd[0], 0x02);
  expectTag(sd[1], 0x31);
  const encap = kids(expectTag(sd[2], 0x30), 1);
  const eContentType = readOid(der, encap[0]);
  if (eContentType !== OID.data) unsupportedSignature(`a content type other than data (${eContentType})`);
  let i = 3;
  const embeddedCertificates: string[] = [];
  if (sd[i]?.tag === 0xa0) {
    for (const c of sd[i]!.children)
      if (c.tag === 0x30) embeddedCertificates.push(pemEncode('CERTIFICATE', raw(der, c)));
    i++;
  }
  if (sd[i]?.tag === 0xa1) i++;
  const signerInfos = expectTag(sd[i], 0x31);
  if (signerInfos.children.length === 0) throw new BerError('no SignerInfo');
  const si = kids(expectTag(signerInfos.children[0], 0x30), 5);
  expectTag(si[0], 0x02);
  const sidNode = si[1]!;
  if (sidNode.tag === 0x80)
    unsupportedSignature('a subject key identifier instead of issuer and serial number');
  const sidParts = kids(expectTag(sidNode, 0x30), 2);
  const issuerNode = expectTag(sidParts[0], 0x30);
  const serialNode = expectTag(sidParts[1], 0x02);
  const digestOid = readAlgorithmOid(der, si[2]);
  const signatureHash = DIGEST_OIDS[digestOid];
  if (!signatureHash) unsupportedSignature(`an unsupported digest algorithm (${digestOid})`);
  const attrsNode = si[3]!;
  if (attrsNode.tag !== 0xa0) {
    throw fail(
      'signature',
      'The metadata signature has no signed attributes. It is not a metadata signature Cipherfold can check. Do not trust this folder until its owner saves it again.',
    );
  }
  const sigAlgOid = readAlgorithmOid(der, si[4]);
  const allowed =
    sigAlgOid === OID.rsaEncryption ||
    (sigAlgOid === OID.sha256WithRsa && signatureHash === 'SHA-256') ||
    (sigAlgOid === OID.sha1WithRsa && signatureHash === 'SHA-1');
  if (!allowed) unsupportedSignature(`an unsupported signature algorithm (${sigAlgOid})`);
  const sigNode = si[5];
  if (!sigNode || (sigNode.tag !== 0x04 && sigNode.tag !== 0x24))
    throw new BerError('missing signature value');
  const signature = octets(der, sigNode);
  if (signature.length === 0) throw new BerError('empty signature value');

  const signedAttrsDer = raw(der, attrsNode);
  signedAttrsDer[0] = 0x31;
  const attrs = parseAttributes(der, attrsNode);
  const mdNode = singleValue(attrs, OID.messageDigest, 'message digest');
  if (mdNode.tag !== 0x04 && mdNode.tag !== 0x24) throw new BerError('messageDigest is not an OCTET STRING');
  const messageDigest = octets(der, mdNode);
  const ctOid = readOid(der, singleValue(attrs, OID.contentType, 'content type'));
  if (ctOid !== eContentType) throw new BerError('contentType attribute differs from eContentType');

  let signerIssuerDn: string;
  try {
    signerIssuerDn = dnToString(definite(der, issuerNode));
  } catch (e) {
    throw new BerError(`unreadable issuer name: ${e instanceof Error ? e.name : 'error'}`);
  }
  return {
    der: copyBytes(der),
    signerIssuerDn,
    signerSerialHex: serialHexOf(octets(der, serialNode)),
    embeddedCertificates,
    signedAttrsDer,
    messageDigest,
    signature,
    signatureHash,
  };
}

// ---- verification ----

function signatureMismatch(what: string, meaning: string): never {
  throw fail(
    'signature',
    `The metadata signature ${what}. ${meaning} Do not trust this folder until its owner saves it again.`,
  );
}

/**
 * Verifies a parsed signature against the candidate contents (see canonical-json.ts) and the relevant
 * users list. Returns the signer's user id and the index of the candidate that matched.
 */
export async function verifyDetached(
  sig: CmsSignature,
  contentCandidates: Bytes[],
  signers: { userId: string; certificate: ParsedCertificate }[],
): Promise<{ userId: string; candidateIndex: number }> {
  // 1. The attributes that were actually signed (not the convenience copy in `sig`).
  let attrsTree: Node;
  let attrs: Attribute[];
  let messageDigest: Bytes;
  try {
    attrsTree = parseBer(sig.signedAttrsDer);
    if (attrsTree.tag !== 0x31) throw new BerError('signed attributes are not a SET');
    attrs = parseAttributes(sig.signedAttrsDer, attrsTree);
    const ct = readOid(sig.signedAttrsDer, singleValue(attrs, OID.contentType, 'content type'));
    if (ct !== OID.data)
      signatureMismatch('is for another kind of content', 'It was not made for folder metadata.');
    const md = singleValue(attrs, OID.messageDigest, 'message digest');
    if (md.tag !== 0x04 && md.tag !== 0x24) throw new BerError('messageDigest is not an OCTET STRING');
    messageDigest = octets(sig.signedAttrsDer, md);
  } catch (e) {
    if (isCipherfoldError(e)) throw e;
    malformedSignature(e instanceof BerError ? e.message : 'unreadable signed attributes', e);
  }

  // 2. Signer: issuer DN + serial from the users list; the CN must be that user's id.
  const matches = signers.filter(
    (s) => s.certificate.issuerDn === sig.signerIssuerDn && s.certificate.serialHex === sig.signerSerialHex,
  );
  if (matches.length === 0) {
    signatureMismatch(
      "was made by someone who is not in the folder's member list (no member certificate matches the signer)",
      "The metadata may have been changed by someone without access, or a member's key changed.",
    );
  }

  // 3. Content: messageDigest must equal the hash of one of the candidate serialisations.
  let candidateIndex = -1;
  for (let i = 0; i < contentCandidates.length && candidateIndex < 0; i++) {
    if (equalBytes(await digest(sig.signatureHash, contentCandidates[i]!), messageDigest)) candidateIndex = i;
  }
  if (candidateIndex < 0) {
    signatureMismatch(
      'does not match the metadata content (message digest mismatch)',
      'The metadata was changed after it was signed.',
    );
  }

  // 4. RSA over the received attributes (plus a definite-length re-encoding if they came as indefinite BER).
  const signedBytes = [sig.signedAttrsDer];
  if (hasIndefinite(attrsTree)) signedBytes.push(definite(sig.signedAttrsDer, attrsTree));
  let cnMismatch = false;
  for (const m of matches) {
    if (m.certificate.commonName !== m.userId) {
      cnMismatch = true;
      continue;
    }
    for (const bytes of signedBytes) {
      if (await rsaPkcs1Verify(sig.signatureHash, m.certificate.publicSpki, sig.signature, bytes)) {
        return { userId: m.userId, candidateIndex };
      }
    }
  }
  if (cnMismatch && matches.every((m) => m.certificate.commonName !== m.userId)) {
    signatureMismatch(
      "was made with a certificate whose name (CN) is not the member's user id",
      "A member entry may have been given someone else's certificate.",
    );
  }
  signatureMismatch(
    "does not verify with the signer's key (RSA check failed)",
    "The metadata or the signature was changed, or the signer's key was replaced.",
  );
}
