// Public API of the personal-data vault (README.md). Other modules import from here only.
export { createVaultService, type VaultService } from './service.js';
export { DEFAULT_MAX_FILE_BYTES, type VaultDeps } from './core.js';
export type { FileDownload, StoredFileInfo } from './files-ops.js';
export { registerVaultRoutes } from './routes.js';
export type { Collection, CollectionSchema, CollectionVersion, Duplicate, FieldDef, FieldType, ReadOptions, SubjectView, VaultRecord } from './types.js';
export { blobDirFor } from './files/index.js';
