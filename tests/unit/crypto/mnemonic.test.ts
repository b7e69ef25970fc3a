import { validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { fromUtf8 } from '../../../lib/crypto/bytes';
import {
  generateMnemonic,
  mnemonicKdfPassword,
  parseMnemonic,
  suggestWords,
} from '../../../lib/crypto/mnemonic';

function mnemonicError(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    expect(isCipherfoldError(e, 'mnemonic'), String(e)).toBe(true);
    return e as Error;
  }
  throw new Error('expected a mnemonic error');
}

describe('generateMnemonic', () => {
  it('gives 12 words from the BIP-39 English list', () => {
    const m = generateMnemonic();
    expect(m).toHaveLength(12);
    for (const w of m) expect(wordlist).toContain(w);
  });

  it('draws each word independently and uniformly (no checksum, all list halves and quarters used)', () => {
    const counts = new Array<number>(4).fill(0);
    let invalidChecksum = 0;
    const N = 2000;
    for (let i = 0; i < N; i++) {
      const m = generateMnemonic();
      for (const w of m) counts[wordlist.indexOf(w) >> 9]! += 1;
      if (!validateMnemonic(m.join(' '), wordlist)) invalidChecksum++;
    }
    // 24 000 draws into 4 bins: expected 6000 each, sd ≈ 67; 400 is a 6-sigma bound.
    for (const c of counts) expect(Math.abs(c - (N * 12) / 4)).toBeLessThan(400);
    // Independent words fail the 4-bit BIP-39 checksum 15/16 of the time; a BIP-39 generator never would.
    expect(invalidChecksum).toBeGreaterThan(N * 0.85);
  });
});

describe('parseMnemonic', () => {
  const words = [
    'legal',
    'winner',
    'thank',
    'year',
    'wave',
    'sausage',
    'worth',
    'useful',
    'legal',
    'winner',
    'thank',
    'yellow',
  ];

  it.each([
    ['single spaces', words.join(' ')],
    ['upper case and tabs/newlines', words.join('\t\n  ').toUpperCase()],
    ['commas', words.join(', ')],
    ['numbered list', words.map((w, i) => `${i + 1}. ${w}`).join('\n')],
    ['numbered attached', words.map((w, i) => `${i + 1}.${w}`).join(' ')],
    ['parenthesised numbering', words.map((w, i) => `${i + 1}) ${w}`).join('  ')],
    ['non-breaking and zero-width spaces', words.join('\u00a0\u200b')],
    ['leading/trailing junk whitespace', `\n\n ${words.join(' ')} \n`],
  ])('accepts %s', (_n, input) => {
    expect(parseMnemonic(input)).toEqual(words);
  });

  it('never checks the BIP-39 checksum', () => {
    const noChecksum = Array<string>(12).fill('abandon').join(' ');
    expect(validateMnemonic(noChecksum, wordlist)).toBe(false);
    expect(parseMnemonic(noChecksum)).toHaveLength(12);
  });

  it('names the position of an unknown word without echoing it', () => {
    const bad = [...words];
    bad[4] = 'wavy';
    const e = mnemonicError(() => parseMnemonic(bad.join(' ')));
    expect(e.message).toMatch(/Word 5\b/);
    expect(e.message).not.toMatch(/wavy/);
    for (const w of words) expect(e.message.toLowerCase()).not.toContain(w);
  });

  it.each([11, 13, 24, 0])('rejects %i words with a count error', (n) => {
    const input = Array.from({ length: n }, (_, i) => words[i % 12]).join(' ');
    const e = mnemonicError(() => parseMnemonic(input));
    expect(e.message).toMatch(new RegExp(`has ${n} word`));
    expect(e.message).toMatch(/12/);
  });
});

describe('mnemonicKdfPassword', () => {
  it('lowercases and removes all whitespace (superset of every client, G-13)', () => {
    const expected = 'legalwinnerthank';
    for (const input of [
      'legal winner thank',
      'Legal  Winner\tTHANK',
      ' legal\nwinner\r\nthank\u00a0',
      ['legal', 'winner', 'thank'],
      ['LEGAL ', ' winner', 'thank'],
    ]) {
      expect(fromUtf8(mnemonicKdfPassword(input))).toBe(expected);
    }
  });

  it('equals the web client’s encrypt-path normalisation for generated phrases', () => {
    const m = generateMnemonic();
    expect(fromUtf8(mnemonicKdfPassword(m.join(' ')))).toBe(m.join(' ').toLowerCase().replace(/\s/g, ''));
    expect(fromUtf8(mnemonicKdfPassword(m))).toBe(m.join(''));
  });
});

describe('suggestWords', () => {
  it('completes prefixes in list order, case-insensitively, with a limit', () => {
    expect(suggestWords('aba')).toEqual(['abandon']);
    expect(suggestWords('AB', 3)).toEqual(['abandon', 'ability', 'able']);
    expect(suggestWords('zoo')).toEqual(['zoo']);
    expect(suggestWords('')).toEqual([]);
    expect(suggestWords('qqq')).toEqual([]);
    expect(suggestWords('a', 0)).toEqual([]);
    expect(suggestWords('s').length).toBe(8);
  });
});
