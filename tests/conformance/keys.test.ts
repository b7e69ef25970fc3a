/**
 * Capabilities, OCS envelopes, the user-agent rule (§2), server key, certificates from CSRs and the encrypted
 * private key (§3, §4.1). Docs: protocol.md §2–§4, protocol-observed-nc31.md §1–§2.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { targetSpecs, useTarget } from './target';
import {
  Client,
  E2E,
  E2E_V1,
  expectOcsFail,
  expectOcsOk,
  expectOneOf,
  isEmptyData,
  raw,
  UA,
  type OcsRes,
} from './http';
import { certHash, makeCsr, makeKeys, parseCert, spki, verifiedByServerKey } from './keys';

const DAY = 86_400_000;
const NOT_ALLOWED = /is not allowed to access end-to-end encrypted content/;

function b64(n: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString('base64');
}
function validPrivateKeyBlob(): string {
  return `${b64(1700)}|${b64(12)}|${b64(40)}`;
}
function e2eeCap(r: OcsRes): Record<string, unknown> | undefined {
  const caps = (r.data as { capabilities?: Record<string, unknown> } | undefined)?.capabilities;
  return caps?.['end-to-end-encryption'] as Record<string, unknown> | undefined;
}
function publicKeys(r: OcsRes): Record<string, string> {
  return ((r.data as { 'public-keys'?: Record<string, string> }) ?? {})['public-keys'] ?? {};
}

let keys: CryptoKeyPair[] = [];
beforeAll(async () => {
  keys = await makeKeys(2);
});

describe.each(targetSpecs())('keys and transport [$name]', (spec) => {
  const t = useTarget(spec);
  const A = () => new Client(t, t.users[0]);
  const B = () => new Client(t, t.users[1]);
  const C = () => new Client(t, t.users[2]);
  const anon = () => new Client(t, undefined);

  let serverKey = '';
  let certA = '';

  async function getServerKey(): Promise<string> {
    if (!serverKey) {
      const r = await A().ocs('GET', `${E2E}/server-key`);
      expectOcsOk(r);
      serverKey = (r.data as { 'public-key': string })['public-key'];
    }
    return serverKey;
  }

  /** A's certificate; created here if an earlier test did not. */
  async function ensureCertA(): Promise<string> {
    if (certA) return certA;
    const g = await A().ocs('GET', `${E2E}/public-key`);
    if (g.status === 200) certA = publicKeys(g)[A().id]!;
    else {
      const r = await A().ocs('POST', `${E2E}/public-key`, {
        form: { csr: await makeCsr(keys[0]!, `CN=${A().id}`) },
      });
      expectOcsOk(r);
      certA = (r.data as { 'public-key': string })['public-key'];
    }
    return certA;
  }

  describe('capabilities and OCS envelope (§2.1, §2.5)', () => {
    it('user without keys: end-to-end-encryption capability with string api-version and keys-exist false', async () => {
      const r = await C().ocs('GET', '/ocs/v2.php/cloud/capabilities');
      expectOcsOk(r);
      expect(r.meta.message).toBe('OK');
      const cap = e2eeCap(r);
      expect(cap).toBeDefined();
      expect(cap!.enabled).toBe(true);
      expect(typeof cap!['api-version']).toBe('string');
      expect(t.expect({ main: '2.1', nc31: '2.0' })).toContain(cap!['api-version']);
      expect(cap!['keys-exist']).toBe(false);
      expect(cap).not.toHaveProperty('supports_chunking');
    });

    it('anonymous capabilities: 200 without the end-to-end-encryption entry', async () => {
      const r = await anon().ocs('GET', '/ocs/v2.php/cloud/capabilities', { e2ee: false });
      expectOcsOk(r);
      expect(e2eeCap(r)).toBeUndefined();
    });

    it('default format is XML (no format=json, no Accept header)', async () => {
      const r = await C().ocs('GET', '/ocs/v2.php/cloud/capabilities', { xml: true });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type') ?? '').toMatch(/xml/);
      expect(r.text).toMatch(/<ocs>/);
      expect(r.text).toMatch(/<statuscode>200<\/statuscode>/);
    });

    it('JSON via Accept header alone (no format parameter)', async () => {
      const res = await raw(`${t.url}/ocs/v2.php/cloud/capabilities`, {
        headers: {
          'user-agent': UA,
          'ocs-apirequest': 'true',
          accept: 'application/json',
          authorization: 'Basic ' + Buffer.from(`${C().id}:${t.users[2].password}`).toString('base64'),
        },
      });
      expect(res.status).toBe(200);
      const j = JSON.parse(res.text) as { ocs: { meta: { status: string; statuscode: number } } };
      expect(j.ocs.meta).toMatchObject({ status: 'ok', statuscode: 200 });
    });

    it('not logged in on a login-only route: 401 OCS failure', async () => {
      const r = await anon().ocs('POST', `${E2E}/public-key`, { form: { csr: 'x' } });
      expectOcsFail(r, 401);
    });

    it('wrong password: 401', async () => {
      const r = await new Client(t, { id: t.users[2].id, password: 'definitely-wrong' }).ocs(
        'GET',
        '/ocs/v2.php/cloud/user',
      );
      expect(r.status).toBe(401);
    });
  });

  describe('user-agent rule (§2.4)', () => {
    it('no X-E2EE-SUPPORTED with a non-matching UA: 403 with the documented message', async () => {
      const r = await A().ocs('GET', `${E2E}/server-key`, { e2ee: false });
      expectOcsFail(r, 403);
      expect(r.meta.message).toMatch(NOT_ALLOWED);
      expect(isEmptyData(r.data)).toBe(true);
    });

    it('X-E2EE-SUPPORTED must be exactly "true" (TRUE → 403, 1 → 403)', async () => {
      for (const v of ['TRUE', '1']) {
        const r = await A().ocs('GET', `${E2E}/server-key`, {
          e2ee: false,
          headers: { 'x-e2ee-supported': v },
        });
        expectOcsFail(r, 403);
      }
    });

    it('allow-listed client UAs pass without the header', async () => {
      for (const ua of [
        'Mozilla/5.0 (Linux) mirall/3.16.0',
        'Mozilla/5.0 (Android) Nextcloud-android/3.13.0',
        'Mozilla/5.0 (iOS) Nextcloud-iOS/3.0.5',
      ]) {
        const r = await A().ocs('GET', `${E2E}/server-key`, { e2ee: false, ua });
        expect(r.status, ua).toBe(200);
      }
    });

    it('a matching but too-old UA is rejected even with X-E2EE-SUPPORTED: true', async () => {
      for (const ua of [
        'Mozilla/5.0 (Linux) mirall/2.9.0',
        'Mozilla/5.0 (Android) Nextcloud-android/3.12.9',
      ]) {
        const r = await A().ocs('GET', `${E2E}/server-key`, { ua });
        expectOcsFail(r, 403);
      }
    });
  });

  describe('server-key (§3.4, §4.1)', () => {
    it('v1 and v2 answer the same RSA-2048 SPKI PEM', async () => {
      const r2 = await A().ocs('GET', `${E2E}/server-key`);
      const r1 = await A().ocs('GET', `${E2E_V1}/server-key`);
      expectOcsOk(r2);
      expectOcsOk(r1);
      const pem = (r2.data as { 'public-key': string })['public-key'];
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/);
      expect((r1.data as { 'public-key': string })['public-key']).toBe(pem);
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      const key = await crypto.subtle.importKey('spki', der, { name: 'RSA-PSS', hash: 'SHA-256' }, true, [
        'verify',
      ]);
      const alg = key.algorithm as RsaHashedKeyAlgorithm;
      expect(alg.modulusLength).toBe(2048);
      expect(Buffer.from(alg.publicExponent).toString('hex')).toBe('010001');
    });

    it('anonymous server-key: public on main (200), 401 on nc31', async () => {
      const r = await anon().ocs('GET', `${E2E}/server-key`);
      expectOneOf(r.status, t.expect({ main: 200, nc31: 401 }));
    });
  });

  describe('public key / certificate (§3.2–§3.4, §4.1)', () => {
    it('GET public-key before any certificate: 404', async () => {
      const r = await A().ocs('GET', `${E2E}/public-key`);
      expectOcsFail(r, 404);
    });

    it('CSR whose CN is another user id: 403, nothing stored', async () => {
      const r = await A().ocs('POST', `${E2E}/public-key`, {
        form: { csr: await makeCsr(keys[0]!, `CN=${B().id}`) },
      });
      expectOcsFail(r, 403);
      expect(r.meta.message).toMatch(/Common name \(CN\) does not match the current user/);
      expectOcsFail(await A().ocs('GET', `${E2E}/public-key`), 404);
    });

    it('CSR whose CN differs only in letter case: 403', async () => {
      const r = await A().ocs('POST', `${E2E}/public-key`, {
        form: { csr: await makeCsr(keys[0]!, `CN=${A().id.toUpperCase()}`) },
      });
      expectOcsFail(r, 403);
    });

    it('garbage CSR: 400', async () => {
      const r = await A().ocs('POST', `${E2E}/public-key`, { form: { csr: 'this is not a csr' } });
      expectOcsFail(r, 400);
    });

    it('POST public-key without X-E2EE-SUPPORTED: 403', async () => {
      const r = await A().ocs('POST', `${E2E}/public-key`, {
        e2ee: false,
        form: { csr: await makeCsr(keys[0]!, `CN=${A().id}`) },
      });
      expectOcsFail(r, 403);
      expectOcsFail(await A().ocs('GET', `${E2E}/public-key`), 404);
    });

    it('CSR → certificate: serial 0, issuer = subject, 7300 days, signed by the server key, CSR public key', async () => {
      const r = await A().ocs('POST', `${E2E}/public-key`, {
        form: { csr: await makeCsr(keys[0]!, `CN=${A().id}`) },
      });
      expectOcsOk(r);
      const pem = (r.data as { 'public-key': string })['public-key'];
      certA = pem;
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
      expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
      expect(pem).not.toMatch(/\r/);
      const cert = parseCert(pem);
      expect(cert.serialNumber).toMatch(/^0+$/);
      expect(cert.subject).toBe(`CN=${A().id}`);
      expect(cert.issuer).toBe(cert.subject);
      const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY;
      expect(Math.abs(days - 7300)).toBeLessThanOrEqual(1);
      expect(Math.abs(cert.notBefore.getTime() - Date.now())).toBeLessThan(DAY);
      expect(t.expect({ main: 'SHA-256', nc31: 'SHA-1' })).toContain(certHash(cert));
      expect(await verifiedByServerKey(cert, await getServerKey())).toBe(true);
      expect(Buffer.from(cert.publicKey.rawData).equals(Buffer.from(await spki(keys[0]!)))).toBe(true);
    });

    it('the certificate does not verify against a different key (the check above can fail)', async () => {
      const cert = parseCert(await ensureCertA());
      const other = Buffer.from(await spki(keys[1]!)).toString('base64');
      const otherPem = `-----BEGIN PUBLIC KEY-----\n${other}\n-----END PUBLIC KEY-----\n`;
      expect(await verifiedByServerKey(cert, otherPem)).toBe(false);
    });

    it('second POST public-key: 409 with empty data; PUT public-key when one exists: 409', async () => {
      await ensureCertA();
      const r = await A().ocs('POST', `${E2E}/public-key`, {
        form: { csr: await makeCsr(keys[0]!, `CN=${A().id}`) },
      });
      expectOcsFail(r, 409);
      expect(isEmptyData(r.data)).toBe(true);
      const p = await A().ocs('PUT', `${E2E}/public-key`, { form: { publicKey: certA } });
      expectOcsFail(p, 409);
    });

    it('GET public-key (no users): only the caller, byte-identical to the issued PEM', async () => {
      const pem = await ensureCertA();
      for (const base of [E2E, E2E_V1]) {
        const r = await A().ocs('GET', `${base}/public-key`);
        expectOcsOk(r);
        expect(publicKeys(r)).toEqual({ [A().id]: pem });
      }
    });

    it('desktop-style DN: subject kept verbatim, issuer identical (JSON body)', async () => {
      const dn = `C=DE, ST=Baden-Wuerttemberg, L=Stuttgart, O=Nextcloud, CN=${B().id}`;
      const r = await B().ocs('POST', `${E2E}/public-key`, { json: { csr: await makeCsr(keys[1]!, dn) } });
      expectOcsOk(r);
      const cert = parseCert((r.data as { 'public-key': string })['public-key']);
      expect(cert.subject).toBe(dn);
      expect(cert.issuer).toBe(dn);
      expect(await verifiedByServerKey(cert, await getServerKey())).toBe(true);
    });

    it('users=["B"]: the caller is always added', async () => {
      await ensureCertA();
      const r = await A().ocs('GET', `${E2E}/public-key`, { query: { users: JSON.stringify([B().id]) } });
      expectOcsOk(r);
      expect(Object.keys(publicKeys(r)).sort()).toEqual([A().id, B().id].sort());
    });

    it('any id without a certificate fails the whole call with 404 (also the implicit caller)', async () => {
      await ensureCertA();
      const r = await A().ocs('GET', `${E2E}/public-key`, {
        query: { users: JSON.stringify([A().id, C().id]) },
      });
      expectOcsFail(r, 404);
      expect(r.data).not.toHaveProperty('public-keys');
      const r2 = await C().ocs('GET', `${E2E}/public-key`, { query: { users: JSON.stringify([A().id]) } });
      expectOcsFail(r2, 404);
    });

    it('users that is not JSON: 400', async () => {
      const r = await A().ocs('GET', `${E2E}/public-key`, { query: { users: 'not-json' } });
      expectOcsFail(r, 400);
    });

    it('GET public-key without X-E2EE-SUPPORTED: 403', async () => {
      expectOcsFail(await A().ocs('GET', `${E2E}/public-key`, { e2ee: false }), 403);
    });

    it('anonymous GET public-key users=["A"]: public on main (200, only A), 401 on nc31', async () => {
      await ensureCertA();
      const r = await anon().ocs('GET', `${E2E}/public-key`, { query: { users: JSON.stringify([A().id]) } });
      expectOneOf(r.status, t.expect({ main: 200, nc31: 401 }));
      if (r.status === 200) expect(Object.keys(publicKeys(r))).toEqual([A().id]);
    });
  });

  describe('private key (§3.5, §4.1)', () => {
    it('GET private-key before one is stored: 404', async () => {
      const r = await A().ocs('GET', `${E2E}/private-key`);
      expectOcsFail(r, 404);
    });

    it('POST valid blob → 200 echo; second POST → 409 empty; GET v1/v2 byte-identical', async () => {
      const blob = validPrivateKeyBlob();
      const r = await A().ocs('POST', `${E2E}/private-key`, { form: { privateKey: blob } });
      expectOcsOk(r);
      expect(r.data).toEqual({ 'private-key': blob });
      const again = await A().ocs('POST', `${E2E}/private-key`, {
        form: { privateKey: validPrivateKeyBlob() },
      });
      expectOcsFail(again, 409);
      expect(isEmptyData(again.data)).toBe(true);
      for (const base of [E2E, E2E_V1]) {
        const g = await A().ocs('GET', `${base}/private-key`);
        expectOcsOk(g);
        expect(g.data).toEqual({ 'private-key': blob });
      }
    });

    it('GET private-key without X-E2EE-SUPPORTED: 403', async () => {
      expectOcsFail(await A().ocs('GET', `${E2E}/private-key`, { e2ee: false }), 403);
    });

    it('anonymous GET private-key without share token: 403 on main, 401 on nc31', async () => {
      const r = await anon().ocs('GET', `${E2E}/private-key`);
      expectOcsFail(r, t.expect({ main: 403, nc31: 401 }));
    });

    it('blob with only two parts: 400 on main (format validated), stored (200) on nc31', async () => {
      const r = await B().ocs('POST', `${E2E}/private-key`, {
        form: { privateKey: `${b64(64)}|${b64(12)}` },
      });
      expectOneOf(r.status, t.expect({ main: 400, nc31: 200 }));
    });

    it('keys-exist: true with certificate and private key, false with neither', async () => {
      await ensureCertA();
      const a = await A().ocs('GET', '/ocs/v2.php/cloud/capabilities');
      expect(e2eeCap(a)?.['keys-exist']).toBe(true);
      const c = await C().ocs('GET', '/ocs/v2.php/cloud/capabilities');
      expect(e2eeCap(c)?.['keys-exist']).toBe(false);
    });

    it('PUT public-key with text that is no certificate: 400 on main, stored (200) on nc31', async () => {
      // Last in the file: on nc31 this leaves C with a (garbage) certificate.
      const r = await C().ocs('PUT', `${E2E}/public-key`, {
        form: { publicKey: 'hello, I am not a certificate' },
      });
      expectOneOf(r.status, t.expect({ main: 400, nc31: 200 }));
    });
  });
});
