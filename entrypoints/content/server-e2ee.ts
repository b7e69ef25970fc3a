/**
 * Signs that the page runs the server's own in-browser end-to-end encryption code (the official app's
 * script or its initial state). Only used to show a warning in Cipherfold's own surfaces; never trusted
 * for anything else (a page can add or hide these at will).
 */
export const SERVER_E2EE_SELECTORS = [
  'script[src*="end_to_end_encryption"]',
  'script[src*="end-to-end-encryption"]',
  'input[id^="initial-state-end_to_end_encryption"]',
] as const;

export function pageRunsServerE2ee(doc: Pick<Document, 'querySelector'>): boolean {
  return SERVER_E2EE_SELECTORS.some((s) => doc.querySelector(s) !== null);
}
