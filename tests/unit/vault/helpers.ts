import 'fake-indexeddb/auto';
import { randomBytes, toBase64 } from '../../../lib/crypto/bytes';
import { openVault, type OpenVaultOptions, type Vault } from '../../../lib/vault';

export const WORDS =
  'abandon ability able about above absent absorb abstract absurd abuse access accident'.split(' ');
export const OTHER_WORDS = 'zoo zone zero youth young yellow year wrong write wrist wreck wrap'.split(' ');

let n = 0;
export function dbName(): string {
  return `vault-test-${process.pid}-${Date.now()}-${n++}`;
}

export function fakePem(label = 'CERTIFICATE', size = 300): string {
  const b64 = toBase64(randomBytes(size));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

export function clock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export async function freshVault(options: OpenVaultOptions = {}): Promise<{ vault: Vault; name: string }> {
  const name = dbName();
  const vault = await openVault(name, { kdfIterations: 1000, ...options });
  return { vault, name };
}

export const ACCOUNT = {
  serverUrl: 'https://cloud.example.org/nextcloud/',
  userId: 'alice@example.org',
  loginName: 'alice',
  displayName: 'Alice A.',
  appPassword: 'app-password-XXXX-YYYY',
};
