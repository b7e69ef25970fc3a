/**
 * Server-issued user certificates (protocol.md §3.3, §3.4, G-21, G-22).
 *
 * The server signs certificates "self-issued" style: issuer DN = subject DN, serial 0, no CA certificate.
 * So there is no chain: the signature over tbsCertificate is verified directly with the pinned server key,
 * with SHA-1 or SHA-256 as the certificate says.
 */
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { RSAPublicKey } from '@peculiar/asn1-rsa';
import { Name } from '@peculiar/x509';
import { fail, isCipherfoldError } from '../errors';
import { copyBytes, equalBytes, toHex, type Bytes } from '../crypto/bytes';
import { pemDecode, pemEncode } from '../crypto/pem';
import { rsaPkcs1Verify } from '../crypto/rsa';

export interface ParsedCertificate {
  /** Normalised PEM (64-character lines, `\n`, trailing newline). */
  pem: string;
  der: Bytes;
  /** The single CN of the subject: the user id, or `s:<token>` for a link-share key. */
  commonName: string;
  subjectDn: string;
  issuerDn: string;
  /** Lowercase hex of the serial's two's-complement bytes, leading zero bytes removed; "00" for serial 0. */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  signatureHash: 'SHA-1' | 'SHA-256';
  publicSpki: Bytes;
  tbs: Bytes;
  signature: Bytes;
}

export const DEFAULT_CERTIFICATE_SKEW_SECONDS = 60;

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const SIGNATURE_OIDS: Record<string, 'SHA-1' | 'SHA-256'> = {
  '1.2.840.113549.1.1.5': 'SHA-1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.11': 'SHA-256', // sha256WithRSAEncryption
};

/** Normalises INTEGER content bytes to the `serialHex` form used across Cipherfold. */
export function serialHexOf(integerContent: Uint8Array): string {
  let i = 0;
  while (i < integerContent.length - 1 && integerContent[i] === 0) i++;
  const hex = toHex(integerContent.subarray(i));
  return hex === '' ? '00' : hex;
}

/** RFC 4514-style text of a DER Name, as Cipherfold displays and compares DNs. */
export function dnToString(nameDer: Uint8Array): string {
  return new Name(copyBytes(nameDer)).toString();
}

function unreadable(cause?: unknown): never {
  throw fail(
    'format',
    'A certificate could not be read. It is damaged or not an X.509 certificate. Ask its owner to set up their keys again.',
    { cause },
  );
}

export function parseCertificate(pem: string): ParsedCertificate {
  const { der } = pemDecode(pem, ['CERTIFICATE']);
  let asn: Certificate;
  try {
    asn = AsnConvert.parse(der, Certificate);
  } catch (e) {
    unreadable(e);
  }
  try {
    const tbsAsn = asn.tbsCertificate;
    if (!asn.tbsCertificateRaw) unreadable();
    const sigOid = asn.signatureAlgorithm.algorithm;
    const signatureHash = SIGNATURE_OIDS[sigOid];
    if (!signatureHash) {
      throw fail(
        'certificate',
        `A certificate uses an unsupported signature algorithm (${sigOid}). Only RSA with SHA-1 or SHA-256 is supported. Ask its owner to set up their keys again.`,
      );
    }
    if (tbsAsn.signature.algorithm !== sigOid) {
      throw fail(
        'certificate',
        'A certificate names two different signature algorithms. It is malformed or was tampered with. Do not trust it.',
      );
    }
    if (tbsAsn.subjectPublicKeyInfo.algorithm.algorithm !== OID_RSA_ENCRYPTION) {
      throw fail(
        'certificate',
        'A certificate does not contain an RSA key. Nextcloud end-to-end encryption needs RSA keys. Ask its owner to set up their keys again.',
      );
    }
    const subjectDer = new Uint8Array(AsnConvert.serialize(tbsAsn.subject));
    const issuerDer = new Uint8Array(AsnConvert.serialize(tbsAsn.issuer));
    const subject = new Name(copyBytes(subjectDer));
    const cns = subject.getField('CN');
    if (cns.length !== 1) {
      throw fail(
        'certificate',
        `A certificate has ${cns.length} common names (CN) instead of one. It cannot be matched to a user. Ask its owner to set up their keys again.`,
      );
    }
    const notBefore = tbsAsn.validity.notBefore.getTime();
    const notAfter = tbsAsn.validity.notAfter.getTime();
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) unreadable();
    return {
      pem: pemEncode('CERTIFICATE', der),
      der: copyBytes(der),
      commonName: cns[0]!,
      subjectDn: subject.toString(),
      issuerDn: dnToString(issuerDer),
      serialHex: serialHexOf(new Uint8Array(tbsAsn.serialNumber)),
      notBefore,
      notAfter,
      signatureHash,
      publicSpki: new Uint8Array(AsnConvert.serialize(tbsAsn.subjectPublicKeyInfo)) as Bytes,
      tbs: copyBytes(new Uint8Array(asn.tbsCertificateRaw)),
      signature: copyBytes(new Uint8Array(asn.signatureValue)),
    };
  } catch (e) {
    if (isCipherfoldError(e)) throw e;
    unreadable(e);
  }
}

function certificateError(cn: string, what: string, meaning: string, action: string): never {
  throw fail('certificate', `The certificate for "${cn}" ${what}. ${meaning} ${action}`);
}

/**
 * Checks, in this order: issued by the server key (signature with the certificate's hash), validity window
 * (± skew, default 60 s), and CN. The serial is not checked (servers issue serial 0).
 */
export async function verifyCertificate(
  cert: ParsedCertificate,
  serverPublicKeyPem: string,
  opts: { expectedCommonName?: string; now?: Date; skewSeconds?: number },
): Promise<void> {
  const { der: serverSpki } = pemDecode(serverPublicKeyPem, ['PUBLIC KEY']);
  const ok = await rsaPkcs1Verify(cert.signatureHash, serverSpki, cert.signature, cert.tbs);
  if (!ok) {
    certificateError(
      cert.commonName,
      'was not issued by this server (its signature does not verify with the server key)',
      'It may have been replaced by someone else, or the server key changed.',
      'Do not trust it; ask your administrator.',
    );
  }
  const now = (opts.now ?? new Date()).getTime();
  const skew = (opts.skewSeconds ?? DEFAULT_CERTIFICATE_SKEW_SECONDS) * 1000;
  if (now + skew < cert.notBefore.getTime()) {
    certificateError(
      cert.commonName,
      `is not valid yet (valid from ${cert.notBefore.toISOString()})`,
      'The clock of this device or of the server may be wrong.',
      'Check the date and time and try again.',
    );
  }
  if (now - skew > cert.notAfter.getTime()) {
    certificateError(
      cert.commonName,
      `has expired (valid until ${cert.notAfter.toISOString()})`,
      'Its owner needs a new key pair.',
      'Ask its owner to set up their keys again.',
    );
  }
  if (opts.expectedCommonName !== undefined && cert.commonName !== opts.expectedCommonName) {
    certificateError(
      cert.commonName,
      `belongs to a different user than expected ("${opts.expectedCommonName}") (common name check failed)`,
      'The server may have answered with the wrong certificate, or it was replaced.',
      'Do not trust it; ask your administrator.',
    );
  }
}

/** True if the certificate's RSA modulus and exponent equal those of `publicSpki`. */
export function certificateMatchesKey(cert: ParsedCertificate, publicSpki: Bytes): boolean {
  const a = rsaKeyOf(cert.publicSpki);
  const b = rsaKeyOf(publicSpki);
  if (!a || !b) return false;
  return equalBytes(a.n, b.n) && equalBytes(a.e, b.e);
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function rsaKeyOf(spki: Bytes): { n: Uint8Array; e: Uint8Array } | null {
  try {
    const info = AsnConvert.parse(spki, SubjectPublicKeyInfo);
    if (info.algorithm.algorithm !== OID_RSA_ENCRYPTION) return null;
    const key = AsnConvert.parse(info.subjectPublicKey, RSAPublicKey);
    return { n: stripZeros(new Uint8Array(key.modulus)), e: stripZeros(new Uint8Array(key.publicExponent)) };
  } catch {
    return null;
  }
}
