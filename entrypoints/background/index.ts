export default defineBackground(() => {
  // The router is added by the extension-core work.
});
