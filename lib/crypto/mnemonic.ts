/**
 * The 12 recovery words (protocol.md §3.5.3, G-13): each word drawn independently and uniformly from the
 * BIP-39 English list. There is NO BIP-39 checksum — never validate one. The KDF password is the input
 * lowercased with all whitespace removed.
 */
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { fail } from '../errors';
import { utf8, type Bytes } from './bytes';

export const MNEMONIC_WORD_COUNT = 12;

const WORDS: readonly string[] = wordlist;
const WORD_SET: ReadonlySet<string> = new Set(WORDS);

if (WORDS.length !== 2048) throw new Error('BIP-39 English word list has an unexpected size');

export function generateMnemonic(): string[] {
  // 65536 is a multiple of 2048, so the low 11 bits of a uniform 16-bit value are uniform.
  const r = new Uint16Array(MNEMONIC_WORD_COUNT);
  crypto.getRandomValues(r);
  return Array.from(r, (x) => WORDS[x & 2047]!);
}

/**
 * Tolerant parser: any letter case, any whitespace (including non-breaking), commas/semicolons, and
 * numbering such as "1. word", "1) word", "1:word" or "#1 word". Throws a `mnemonic` error naming the
 * position of the first unknown word (never the word itself) or the wrong count.
 */
export function parseMnemonic(input: string): string[] {
  const cleaned = String(input)
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u200b-\u200d\u2060\ufeff]/g, '')
    .replace(/[,;|]/g, ' ');
  const words: string[] = [];
  for (const raw of cleaned.split(/\s+/)) {
    if (raw === '') continue;
    // Strip list numbering, whether separate ("1.") or attached ("1.word", "#3)word").
    const token = raw.replace(/^#?\d+[.):-]*/, '').replace(/[.):-]+$/, '');
    if (token === '') continue;
    words.push(token);
  }
  for (let i = 0; i < words.length; i++) {
    if (!WORD_SET.has(words[i]!)) {
      throw fail(
        'mnemonic',
        `Word ${i + 1} is not in the recovery word list. It may be misspelled. Check it against your written copy and try again.`,
      );
    }
  }
  if (words.length !== MNEMONIC_WORD_COUNT) {
    throw fail(
      'mnemonic',
      `The recovery phrase has ${words.length} word${words.length === 1 ? '' : 's'}, but it needs exactly ${MNEMONIC_WORD_COUNT}. A word may be missing or doubled. Enter all ${MNEMONIC_WORD_COUNT} words in order.`,
    );
  }
  return words;
}

/** The PBKDF2 password: lowercase, remove ALL whitespace, UTF-8. Accepts words or a phrase. */
export function mnemonicKdfPassword(words: string[] | string): Bytes {
  const text = Array.isArray(words) ? words.join('') : words;
  return utf8(text.toLowerCase().replace(/\s+/g, ''));
}

/** Up to `limit` list words starting with `prefix` (case-insensitive), in list order. */
export function suggestWords(prefix: string, limit = 8): string[] {
  const p = prefix.trim().toLowerCase();
  if (p === '' || limit <= 0) return [];
  const out: string[] = [];
  for (const w of WORDS) {
    if (w.startsWith(p)) {
      out.push(w);
      if (out.length >= limit) break;
    }
  }
  return out;
}
