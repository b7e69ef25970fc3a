import { defineWebExtConfig } from 'wxt';

// No display on CI/dev machines: do not let `wxt` (dev mode) try to open a browser.
export default defineWebExtConfig({ disabled: true });
