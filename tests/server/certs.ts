/**
 * Server identity key and certificate issuing from CSRs, the way the E2EE app does it (protocol.md §3.3):
 * v3, serial 0, issuer = subject = the CSR subject verbatim, 7300 days, SKI, AKI = SKI, BC CA:TRUE critical.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asnX509 from '@peculiar/asn1-x509';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { webcrypto } from 'node:crypto';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface ServerKeys {
  /** PKCS#8 DER, base64 (for persistence) */
  pkcs8: string;
  spkiPem: string;
  sign256: CryptoKey;
  sign1: CryptoKey;
}

export function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function pemBody(text: string): Buffer {
  return Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

async function importSigners(pkcs8: Uint8Array): Promise<{ sign256: CryptoKey; sign1: CryptoKey }> {
  const der = new Uint8Array(pkcs8);
  const sign256 = await subtle.importKey(
    'pkcs8',
    der,
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const sign1 = await subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' }, false, [
    'sign',
  ]);
  return { sign256, sign1 };
}

export async function loadServerKeys(
  persisted: { pkcs8: string; spkiPem: string } | undefined,
  given: CryptoKeyPair | undefined,
): Promise<ServerKeys> {
  let pkcs8: Uint8Array;
  let spkiPem: string;
  if (given) {
    pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', given.privateKey));
    spkiPem = pem('PUBLIC KEY', await subtle.exportKey('spki', given.publicKey));
  } else if (persisted) {
    pkcs8 = Buffer.from(persisted.pkcs8, 'base64');
    spkiPem = persisted.spkiPem;
  } else {
    const kp = (await subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', kp.privateKey));
    spkiPem = pem('PUBLIC KEY', await subtle.exportKey('spki', kp.publicKey));
  }
  return { pkcs8: Buffer.from(pkcs8).toString('base64'), spkiPem, ...(await importSigners(pkcs8)) };
}

export type CsrResult =
  | { ok: true; commonNames: string[]; subject: asnX509.Name; spki: ArrayBuffer; publicKey: x509.PublicKey }
  | { ok: false };

/** Parse a PEM CSR and verify its self-signature. */
export async function readCsr(text: string): Promise<CsrResult> {
  try {
    if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(text)) return { ok: false };
    const csr = new x509.Pkcs10CertificateRequest(
      text.replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'),
    );
    if (!(await csr.verify())) return { ok: false };
    const asn = AsnConvert.parse(csr.rawData, CertificationRequest);
    return {
      ok: true,
      commonNames: csr.subjectName.getField('CN'),
      subject: asn.certificationRequestInfo.subject,
      spki: AsnConvert.serialize(asn.certificationRequestInfo.subjectPKInfo),
      publicKey: csr.publicKey,
    };
  } catch {
    return { ok: false };
  }
}

/** Issue a certificate for a verified CSR, signed with the server key. */
export async function issueCertificate(
  csr: Extract<CsrResult, { ok: true }>,
  keys: ServerKeys,
  hash: 'SHA-256' | 'SHA-1',
): Promise<string> {
  const ski = await x509.SubjectKeyIdentifierExtension.create(
    csr.publicKey,
    false,
    webcrypto as unknown as Crypto,
  );
  const aki = new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  const bc = new x509.BasicConstraintsExtension(true, undefined, true);
  const now = new Date();
  now.setMilliseconds(0);
  const notAfter = new Date(now.getTime() + 7300 * 86400 * 1000);
  const sigAlg = new x509.RsaAlgorithm().toAsnAlgorithm({
    name: 'RSASSA-PKCS1-v1_5',
    hash: { name: hash },
  } as Algorithm);
  if (!sigAlg) throw new Error('no algorithm');
  const tbs = new asnX509.TBSCertificate({
    version: asnX509.Version.v3,
    serialNumber: new Uint8Array([0]).buffer,
    signature: sigAlg,
    issuer: csr.subject,
    validity: new asnX509.Validity({ notBefore: now, notAfter }),
    subject: csr.subject,
    subjectPublicKeyInfo: AsnConvert.parse(csr.spki, asnX509.SubjectPublicKeyInfo),
    extensions: new asnX509.Extensions(
      [ski, aki, bc].map((e) => AsnConvert.parse(e.rawData, asnX509.Extension)),
    ),
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const signature = await subtle.sign(
    'RSASSA-PKCS1-v1_5',
    hash === 'SHA-1' ? keys.sign1 : keys.sign256,
    tbsDer,
  );
  const cert = new asnX509.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: sigAlg,
    signatureValue: signature,
  });
  return pem('CERTIFICATE', AsnConvert.serialize(cert));
}

/** Common names of a PEM certificate, or undefined if it does not parse. */
export function certificateCommonNames(text: string): string[] | undefined {
  try {
    if (!text.startsWith('-----BEGIN CERTIFICATE-----')) return undefined;
    return new x509.X509Certificate(text).subjectName.getField('CN');
  } catch {
    return undefined;
  }
}
