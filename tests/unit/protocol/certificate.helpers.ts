/**
 * Test helpers: an independent "server" built from Node crypto and the openssl CLI, issuing certificates
 * the way the Nextcloud server does (serial 0, issuer DN = subject DN, signed by the server key).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OPENSSL = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : null;
export const NO_OPENSSL_REASON = 'openssl CLI not found at /usr/bin/openssl';

export function tempDir(): {
  dir: string;
  file: (name: string, data?: string | Uint8Array) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'cipherfold-test-'));
  return {
    dir,
    file(name, data) {
      const p = join(dir, name);
      if (data !== undefined) writeFileSync(p, data);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function openssl(args: string[], input?: string | Uint8Array): Buffer {
  if (!OPENSSL) throw new Error(NO_OPENSSL_REASON);
  return execFileSync(OPENSSL, args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs openssl and returns exit status and both streams (some commands, e.g. `req -verify` in 3.0, exit 0 on failure). */
export function opensslRun(
  args: string[],
  input?: string | Uint8Array,
): { status: number | null; out: string } {
  if (!OPENSSL) throw new Error(NO_OPENSSL_REASON);
  const r = spawnSync(OPENSSL, args, { input });
  return { status: r.status, out: `${r.stdout.toString()}${r.stderr.toString()}` };
}

export function read(p: string): Buffer {
  return readFileSync(p);
}

export function nodeRsa(): {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privatePem: string;
  publicPem: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 65537,
  });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Issues a certificate for `csrPem` like the Nextcloud server: a throw-away "CA" certificate with the
 * CSR's own subject and the server key makes OpenSSL write issuer = subject; serial 0; 7300 days; SKI,
 * AKI and basicConstraints CA:TRUE (critical) as the server's OpenSSL config adds them.
 */
export function issueLikeServer(
  csrPem: string,
  serverPrivatePem: string,
  opts: { hash: 'sha1' | 'sha256'; days?: number; subject?: string },
): string {
  const t = tempDir();
  try {
    const csr = t.file('req.pem', csrPem);
    const key = t.file('server.key', serverPrivatePem);
    const subject =
      opts.subject ??
      openssl(['req', '-in', csr, '-noout', '-subject', '-nameopt', 'compat'])
        .toString()
        .replace(/^subject=/, '')
        .trim();
    const ca = t.file('ca.pem');
    openssl([
      'req',
      '-new',
      '-x509',
      '-key',
      key,
      '-subj',
      subject,
      '-days',
      '7300',
      '-out',
      ca,
      '-' + opts.hash,
    ]);
    const ext = t.file(
      'ext.cnf',
      'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nbasicConstraints=critical,CA:TRUE\n',
    );
    const out = t.file('cert.pem');
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca,
      '-CAkey',
      key,
      '-set_serial',
      '0',
      '-days',
      String(opts.days ?? 7300),
      '-' + opts.hash,
      '-extfile',
      ext,
      '-out',
      out,
    ]);
    return read(out).toString();
  } finally {
    t.cleanup();
  }
}
