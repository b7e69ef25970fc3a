/** Drawing data for the personal security mark (ux.md, Principles 1): colours and symbols. */
import { MARK_COLOURS, MARK_SYMBOLS, type MarkChoice, type MarkColour, type MarkSymbol } from '@/lib/messages';

export const MARK_COLOUR_HEX: Record<MarkColour, string> = {
  blue: '#1e5fc8',
  teal: '#0b7f86',
  green: '#2e7d32',
  olive: '#6f7412',
  orange: '#c8560a',
  red: '#c62828',
  pink: '#b8185a',
  purple: '#6a3fb5',
};

export const MARK_COLOUR_NAME: Record<MarkColour, string> = {
  blue: 'Blue',
  teal: 'Teal',
  green: 'Green',
  olive: 'Olive',
  orange: 'Orange',
  red: 'Red',
  pink: 'Pink',
  purple: 'Purple',
};

/** 24×24 paths, drawn in white on the colour. */
export const MARK_SYMBOL_PATH: Record<MarkSymbol, string> = {
  star: 'M12 2.8l2.8 5.9 6.4.8-4.7 4.5 1.2 6.4L12 17.3l-5.7 3.1 1.2-6.4-4.7-4.5 6.4-.8z',
  heart:
    'M12 20.5s-7.6-4.7-9.3-9.4C1.5 7.6 3.7 4.5 7 4.5c2.2 0 3.8 1.2 5 3 1.2-1.8 2.8-3 5-3 3.3 0 5.5 3.1 4.3 6.6-1.7 4.7-9.3 9.4-9.3 9.4z',
  moon: 'M20.5 14.6A8.7 8.7 0 0 1 9.4 3.5a8.7 8.7 0 1 0 11.1 11.1z',
  leaf: 'M20.5 3.5C11 3.5 4.5 7.3 4.5 14.2c0 1.6.4 2.9 1.1 4L3.3 20.5l1.2 1.2 2.3-2.3c1.1.7 2.4 1.1 4 1.1 7 0 10.3-6.5 9.7-17z',
  bolt: 'M13.5 2 4.5 13.5h6L9.5 22l9-11.5h-6z',
  drop: 'M12 2.5s-6.8 7.4-6.8 12.3a6.8 6.8 0 0 0 13.6 0C18.8 9.9 12 2.5 12 2.5z',
  bell: 'M12 22a2.4 2.4 0 0 0 2.4-2.4H9.6A2.4 2.4 0 0 0 12 22zm6.5-6V11a6.5 6.5 0 0 0-5-6.3V3.5a1.5 1.5 0 0 0-3 0v1.2a6.5 6.5 0 0 0-5 6.3v5l-2 2v1h17v-1z',
  anchor:
    'M12 2a3 3 0 0 0-1.1 5.8V10H8v2h2.9v7.8A7 7 0 0 1 5.2 14H7l-3-3.2L1 14h2.1A9 9 0 0 0 21 14h2l-3-3.2-3 3.2h1.8a7 7 0 0 1-5.7 5.8V12H16v-2h-2.9V7.8A3 3 0 0 0 12 2zm0 1.9a1.1 1.1 0 1 1 0 2.2 1.1 1.1 0 0 1 0-2.2z',
};

export const MARK_SYMBOL_NAME: Record<MarkSymbol, string> = {
  star: 'Star',
  heart: 'Heart',
  moon: 'Moon',
  leaf: 'Leaf',
  bolt: 'Lightning',
  drop: 'Drop',
  bell: 'Bell',
  anchor: 'Anchor',
};

export function describeMark(m: MarkChoice): string {
  return `${MARK_COLOUR_NAME[m.colour]} ${MARK_SYMBOL_NAME[m.symbol].toLowerCase()}`;
}

export function randomMark(): MarkChoice {
  const r = crypto.getRandomValues(new Uint8Array(2));
  return { colour: MARK_COLOURS[r[0]! % MARK_COLOURS.length]!, symbol: MARK_SYMBOLS[r[1]! % MARK_SYMBOLS.length]! };
}
