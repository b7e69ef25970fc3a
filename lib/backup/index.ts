/** Backup dump (docs/dump-format.md): format, validation and offline restore. Portable; the CLI does I/O. */
export * from './dump';
export { sanitiseName, NameAllocator, MAX_NAME_BYTES } from './names';
export {
  planRestore,
  restoreDump,
  executePlan,
  type ExecuteOptions,
  PAYLOAD_TAG_MESSAGE,
  type DumpSource,
  type PlaintextSink,
  type Unlock,
  type RestoreInput,
  type RestorePlan,
  type RestoreSummary,
} from './restore';
