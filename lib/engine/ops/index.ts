/** Folder operations on opened encrypted folders (see docs/operations.md for the HTTP sequences). */
export { renameEntry } from './rename';
export { deleteEntries, deleteRoot, type DeleteRootResult } from './delete';
export { moveEntry, copyEntry } from './move';
export { migrateFiledrop, type FiledropMigration } from './filedrop';
export { uploadFiles, uploadTree, type TreeItem, type TreeUploadResult } from './upload';
