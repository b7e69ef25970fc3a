/** `cipherfold` command line: offline backup and recovery of end-to-end encrypted Nextcloud folders. */
import { parseArgs } from 'node:util';
import { CipherfoldError } from '../lib/errors';

const USAGE = `cipherfold — backup and offline recovery for Nextcloud end-to-end encrypted folders

Usage:
  cipherfold backup --server URL --user USER --app-password-file FILE --out DIR [--folder PATH]
      Download every encrypted folder (or the one at PATH) with its sub-folders, metadata, signatures,
      encrypted payloads, your certificate, the server key and your encrypted private key into DIR.
      Needs no keys and decrypts nothing. Restartable: finished payloads are not fetched again.

  cipherfold decrypt-dump DIR --words-file FILE --out OUTDIR [--recovery-key PEM] [--known-counters FILE]
      Verify everything in the dump (signatures, certificates, key checksums, counters, payload tags)
      and write the plaintext tree to OUTDIR. Nothing is written unless everything verifies.
      --recovery-key takes an organisation recovery private key (PEM) instead of the recovery words.

  cipherfold help
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'backup': {
        const { values } = parseArgs({
          args: rest,
          options: {
            server: { type: 'string' },
            user: { type: 'string' },
            'app-password-file': { type: 'string' },
            out: { type: 'string' },
            folder: { type: 'string' },
          },
          strict: true,
        });
        const server = required(values.server, '--server');
        const user = required(values.user, '--user');
        const passwordFile = required(values['app-password-file'], '--app-password-file');
        const out = required(values.out, '--out');
        const { runBackup } = await import('./backup');
        await runBackup({ server, user, appPasswordFile: passwordFile, out, folder: values.folder });
        return 0;
      }
      case 'decrypt-dump': {
        const { values, positionals } = parseArgs({
          args: rest,
          options: {
            'words-file': { type: 'string' },
            out: { type: 'string' },
            'recovery-key': { type: 'string' },
            'known-counters': { type: 'string' },
          },
          allowPositionals: true,
          strict: true,
        });
        if (positionals.length !== 1) throw usageError('decrypt-dump needs exactly one dump directory.');
        const out = required(values.out, '--out');
        if (!values['words-file'] && !values['recovery-key']) {
          throw usageError('decrypt-dump needs --words-file FILE (or --recovery-key PEM).');
        }
        const { runDecryptDump } = await import('./decrypt-dump');
        const summary = await runDecryptDump({
          dir: positionals[0]!,
          out,
          wordsFile: values['words-file'],
          recoveryKeyFile: values['recovery-key'],
          knownCountersFile: values['known-counters'],
        });
        process.stdout.write(JSON.stringify(summary) + '\n');
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw usageError(`Unknown command "${command}".`);
    }
  } catch (e) {
    return reportError(e);
  }
}

class UsageError extends Error {}

function usageError(message: string): UsageError {
  return new UsageError(message);
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw usageError(`Missing ${flag}.`);
  return value;
}

function reportError(e: unknown): number {
  if (
    e instanceof UsageError ||
    (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    process.stderr.write(`error: usage: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (e instanceof CipherfoldError) {
    process.stderr.write(`error: ${e.kind}: ${e.message}\n`);
    if (process.env.CIPHERFOLD_DEBUG && e.detail) process.stderr.write(`detail: ${e.detail}\n`);
    return 1;
  }
  const err = e as { code?: string; message?: string };
  if (err && typeof err.code === 'string' && /^E(NOENT|ACCES|EXIST|NOTDIR|ISDIR|NOSPC)$/.test(err.code)) {
    process.stderr.write(
      `error: format: A file could not be read or written (${err.code}). Check the paths and permissions.\n`,
    );
    return 1;
  }
  process.stderr.write(
    `error: internal: Unexpected failure (a bug in Cipherfold, please report it): ${err?.message ?? String(e)}\n`,
  );
  return 1;
}
