/** The dump validator (docs/dump-format.md) and the clear-name sanitiser used by decrypt-dump. Pure, fast. */
import { describe, expect, it } from 'vitest';
import { parseDump, parseKnownCounters, serialiseDump, validateDump, type Dump } from '../../lib/backup/dump';
import { MAX_NAME_BYTES, NameAllocator, sanitiseName } from '../../lib/backup/names';
import { isCipherfoldError } from '../../lib/errors';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n';
const SUB = '0123456789abcdef0123456789abcdef';

function good(): Dump {
  return {
    format: 1,
    server: 'https://cloud.example.com',
    user: 'alice',
    serverPublicKey: KEY,
    certificate: CERT,
    encryptedPrivateKey: 'a|b|c',
    folders: [
      { fileId: '101', parentFileId: null, name: 'Secret', metadata: '{}', signature: 'MIAG' },
      { fileId: '102', parentFileId: '101', name: SUB, metadata: '{}', signature: null },
    ],
    knownCounters: { '101': 7 },
  };
}

function kind(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isCipherfoldError(e)) return e.kind;
    throw e;
  }
  return 'ok';
}

describe('dump validator', () => {
  it('accepts the documented layout and round-trips it', () => {
    const d = good();
    expect(parseDump(serialiseDump(d))).toEqual(d);
    const { server: _s, knownCounters: _k, ...minimal } = d;
    expect(validateDump(minimal)).toEqual(minimal);
  });

  const mutations: [string, (d: Record<string, unknown>) => unknown][] = [
    ['format 2', (d) => ({ ...d, format: 2 })],
    ['format "1"', (d) => ({ ...d, format: '1' })],
    ['unknown top-level member', (d) => ({ ...d, keys: 'x' })],
    ['user missing', ({ user: _u, ...d }) => d],
    ['user empty', (d) => ({ ...d, user: '' })],
    ['serverPublicKey not PEM', (d) => ({ ...d, serverPublicKey: 'abc' })],
    ['certificate not PEM', (d) => ({ ...d, certificate: 42 })],
    ['folders not a list', (d) => ({ ...d, folders: {} })],
    ['array at top level', () => []],
    ['non-numeric fileId', (d) => withFolder(d, 0, { fileId: '../1' })],
    ['numeric (not string) fileId', (d) => withFolder(d, 0, { fileId: 101 })],
    ['duplicate fileId', (d) => withFolder(d, 1, { fileId: '101' })],
    ['child before parent', (d) => ({ ...d, folders: [...(d['folders'] as unknown[])].reverse() })],
    ['unknown parent', (d) => withFolder(d, 1, { parentFileId: '999' })],
    ['root name with a slash', (d) => withFolder(d, 0, { name: 'a/b' })],
    ['root name ..', (d) => withFolder(d, 0, { name: '..' })],
    ['sub-folder name not 32-hex', (d) => withFolder(d, 1, { name: 'Docs' })],
    ['metadata not a string', (d) => withFolder(d, 0, { metadata: {} })],
    ['signature a number', (d) => withFolder(d, 0, { signature: 1 })],
    ['unknown folder member', (d) => withFolder(d, 0, { extra: true })],
    ['negative known counter', (d) => ({ ...d, knownCounters: { '101': -1 } })],
    ['fractional known counter', (d) => ({ ...d, knownCounters: { '101': 1.5 } })],
    ['known counter key not an id', (d) => ({ ...d, knownCounters: { abc: 1 } })],
  ];
  function withFolder(d: Record<string, unknown>, i: number, patch: Record<string, unknown>): unknown {
    const folders = [...(d['folders'] as Record<string, unknown>[])];
    folders[i] = { ...folders[i], ...patch };
    return { ...d, folders };
  }
  it.each(mutations)('rejects %s with a format error', (_name, mutate) => {
    const v = mutate(good() as unknown as Record<string, unknown>);
    expect(kind(() => validateDump(v))).toBe('format');
  });

  it('rejects malformed JSON text and known-counter files', () => {
    expect(kind(() => parseDump('{"format":1,'))).toBe('format');
    expect(kind(() => parseKnownCounters('[1]'))).toBe('format');
    expect(kind(() => parseKnownCounters('{'))).toBe('format');
    expect(parseKnownCounters('{"5": 3}')).toEqual({ '5': 3 });
  });
});

describe('clear-name sanitising', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', '.._.._etc_passwd'],
    ['..', '___'],
    ['.', '__'],
    ['', '_'],
    ['a\\b', 'a_b'],
    ['nul\u0000byte', 'nul_byte'],
    ['line\nbreak', 'line_break'],
    ['Grüße 日本語', 'Grüße 日本語'],
    ['lone\ud800surrogate', 'lone_surrogate'],
  ])('%j → %j', (input, output) => {
    expect(sanitiseName(input)).toBe(output);
  });

  it('never yields a path separator, a dot name or more than MAX_NAME_BYTES', () => {
    const samples = [
      '/',
      '//',
      '/..',
      '../',
      '...',
      'x'.repeat(1000),
      '日'.repeat(300) + '.txt',
      '.'.repeat(500),
    ];
    for (const s of samples) {
      const out = sanitiseName(s);
      expect(out).not.toMatch(/[/\\\0]/);
      expect(['', '.', '..']).not.toContain(out);
      expect(new TextEncoder().encode(out).length).toBeLessThanOrEqual(MAX_NAME_BYTES);
    }
    expect(sanitiseName('日'.repeat(300) + '.txt').endsWith('.txt')).toBe(true);
  });

  it('de-duplicates collisions (case-insensitively) with " (n)" before the extension', () => {
    const a = new NameAllocator();
    expect(a.allocate('notes.txt')).toBe('notes.txt');
    expect(a.allocate('notes.txt')).toBe('notes (2).txt');
    expect(a.allocate('NOTES.txt')).toBe('NOTES (3).txt');
    expect(a.allocate('a/b')).toBe('a_b');
    expect(a.allocate('a_b')).toBe('a_b (2)');
    expect(a.allocate('.bashrc')).toBe('.bashrc');
    expect(a.allocate('.bashrc')).toBe('.bashrc (2)');
  });
});
