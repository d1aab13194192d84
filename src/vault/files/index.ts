// Public API of the vault file layer (src/vault/files): encrypted, streamed
// file storage and upload inspection. The vault service imports from here only.

/** Blob stores: where sealed file contents live (local filesystem today; S3-compatible later behind the same interface). */
export {
  blobDirFor,
  createLocalBlobStore,
  newBlobId,
  type BlobPutOptions,
  type BlobPutResult,
  type BlobStore,
  type LocalBlobStore,
  type LocalBlobStoreOptions,
} from './blob-store.js';
/** Sealed files: per-file content key sealed by the keyring, content in a chunked STREAM of AES-256-GCM. */
export {
  createFileVault,
  fileContext,
  type FileRef,
  type FileVault,
  type FileVaultDeps,
  type OpenFileInput,
  type PutFileInput,
  type StoredFile,
} from './sealed-files.js';
/** The streaming format itself (for tools and tests; the vault uses createFileVault). */
export {
  createOpenStream,
  createSealStream,
  DEFAULT_CHUNK_SIZE,
  FILE_FORMAT_V1,
  FILE_HEADER_LEN,
  FILE_MAGIC,
  OpenStream,
  SealStream,
  type OpenStreamOptions,
  type SealStreamOptions,
  type SealSummary,
} from './stream.js';
/** Upload inspection: magic-byte sniffing, declared-type match, allow list, executables and scripts refused. */
export {
  canonicalType,
  createUploadInspector,
  DEFAULT_ALLOWED_TYPES,
  DOCX_TYPE,
  INSPECT_HEAD_BYTES,
  inspectUpload,
  UploadInspector,
  XLSX_TYPE,
  type InspectOptions,
  type InspectUploadInput,
  type UploadVerdict,
} from './inspect.js';
export { executableMagic, scriptKind } from './detect.js';
export { DEFAULT_ZIP_LIMITS, inspectZip, type ZipLimits, type ZipSummary } from './zip.js';
/** Error codes and the refusal details the service puts in its `security` audit event. */
export { uploadRefusal, vaultFileErrors, VaultFileErrorCode, type UploadRefusal, type UploadRefusalReason } from './errors.js';
