import { defineConfig } from 'wxt';

// Manifest policy (see entrypoints/README.md):
// - no host permissions at install; each Nextcloud origin is requested at runtime (optional_host_permissions)
//   and gets the content script registered for it alone (scripting.registerContentScripts);
// - the folder view is the only web-accessible resource.
export default defineConfig({
  modules: ['@wxt-dev/module-svelte', '@wxt-dev/webextension-polyfill'],
  manifest: ({ browser, manifestVersion }) => ({
    name: 'Cipherfold',
    description: 'End-to-end encrypted Nextcloud folders, with keys only in this extension',
    // downloads: verified downloads are saved by the engine through the downloads API (not by the page).
    permissions: ['storage', 'scripting', 'downloads', ...(browser === 'chrome' ? ['offscreen', 'sidePanel'] : [])],
    // MV2 (Firefox default) has no optional_host_permissions: origins go into optional_permissions there.
    ...(manifestVersion === 3
      ? { optional_host_permissions: ['http://*/*', 'https://*/*'] }
      : { optional_permissions: ['http://*/*', 'https://*/*'] }),
    action: { default_title: 'Cipherfold' },
    web_accessible_resources: [
      {
        resources: ['folder-view.html'],
        // MV3 needs static match patterns and the user's server is only known at runtime, so this is every
        // http(s) page; the folder view itself refuses to work unless its embedder is a connected origin.
        matches: ['https://*/*', 'http://*/*'],
      },
    ],
    ...(browser === 'firefox'
      ? {
          browser_specific_settings: {
            gecko: {
              id: 'cipherfold@cipherfold.invalid',
              data_collection_permissions: { required: ['none'] },
            },
          },
        }
      : {}),
  }),
});
