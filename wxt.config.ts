import { defineConfig } from 'wxt';

export default defineConfig({
  modules: ['@wxt-dev/module-svelte', '@wxt-dev/webextension-polyfill'],
  manifest: ({ browser }) => ({
    name: 'Cipherfold',
    description: 'End-to-end encrypted Nextcloud folders, with keys only in this extension',
    permissions: ['storage', ...(browser === 'chrome' ? ['offscreen', 'sidePanel'] : [])],
    optional_host_permissions: ['http://*/*', 'https://*/*'],
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: 'cipherfold@cipherfold.invalid', data_collection_permissions: { required: ['none'] } } } }
      : {}),
  }),
});
