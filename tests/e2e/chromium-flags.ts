/**
 * Chromium flags that work on these machines (../shared/docs/toolchain.md §4): no sandbox as root, no GPU,
 * and no background connections (the closed network refuses them). Shared by the e2e fixture and the
 * browser benchmarks.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The flags plus loading one unpacked extension. */
export function extensionFlags(extensionDir: string): string[] {
  return [
    `--disable-extensions-except=${extensionDir}`,
    `--load-extension=${extensionDir}`,
    ...CHROMIUM_FLAGS,
  ];
}
