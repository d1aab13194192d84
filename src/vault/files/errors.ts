import { createError, isCustosError, type CustosError } from '../../shared/errors.js';

/**
 * Error codes of the vault file layer. Messages and extensions name what was
 * found (a kind, a type, an extension, an entry number), never file content
 * or file names. Integrity failures are 500 (never the client's fault).
 */
export const VaultFileErrorCode = {
  /** Declared content type differs from the sniffed one (415). */
  TYPE_MISMATCH: 'VAULT_UPLOAD_TYPE_MISMATCH',
  /** The content type is not on the allow list (415). */
  TYPE_NOT_ALLOWED: 'VAULT_UPLOAD_TYPE_NOT_ALLOWED',
  /** An executable, script, macro or active content was found (422). */
  EXECUTABLE: 'VAULT_UPLOAD_EXECUTABLE',
  /** An archive could not be checked safely: bomb limits, nesting, encryption, traversal, malformed (422). */
  ARCHIVE_UNSAFE: 'VAULT_UPLOAD_ARCHIVE_UNSAFE',
  /** A text type is not valid UTF-8 or holds NUL bytes (422). */
  TEXT_INVALID: 'VAULT_UPLOAD_TEXT_INVALID',
  /** The file exceeds the size limit (413). */
  TOO_LARGE: 'VAULT_FILE_TOO_LARGE',
  /** A stored file failed authentication: altered, truncated, reordered, or opened under another key/context (500). */
  CORRUPT: 'VAULT_FILE_CORRUPT',
  /** A stored file has a format version this build does not know (500). */
  VERSION: 'VAULT_FILE_VERSION',
  /** A blob id is not a UUID (400). */
  BLOB_ID_INVALID: 'VAULT_BLOB_ID_INVALID',
  /** No blob with that id in the blob store (404). */
  BLOB_NOT_FOUND: 'VAULT_BLOB_NOT_FOUND',
  /** A blob with that id already exists; blobs are never overwritten (409). */
  BLOB_EXISTS: 'VAULT_BLOB_EXISTS',
} as const;

/** Why an upload was refused (for the `security` audit event). */
export type UploadRefusalReason = 'type-mismatch' | 'type-not-allowed' | 'executable' | 'archive-unsafe' | 'text-invalid' | 'too-large';

/** What an upload refusal carries besides its code: safe to put in a problem document and an audit event. */
export interface UploadRefusal {
  code: string;
  status: number;
  reason: UploadRefusalReason;
  /** What was found, in words (a kind and where), never content or names. */
  detected: string;
}

function refusal(code: string, status: number, reason: UploadRefusalReason, detected: string, message: string): CustosError {
  return createError(code, message, status, { reason, detected });
}

export const vaultFileErrors = {
  typeMismatch: (declared: string, detected: string) =>
    refusal(VaultFileErrorCode.TYPE_MISMATCH, 415, 'type-mismatch', detected,
      `the upload was declared as ${declared} but its content is ${detected}`),
  typeNotAllowed: (type: string) =>
    refusal(VaultFileErrorCode.TYPE_NOT_ALLOWED, 415, 'type-not-allowed', type,
      `uploads of type ${type} are not accepted`),
  executable: (detected: string) =>
    refusal(VaultFileErrorCode.EXECUTABLE, 422, 'executable', detected,
      `the upload contains an executable or script (${detected}); it was refused`),
  archiveUnsafe: (detected: string) =>
    refusal(VaultFileErrorCode.ARCHIVE_UNSAFE, 422, 'archive-unsafe', detected,
      `the archive cannot be accepted safely (${detected})`),
  textInvalid: (detected: string) =>
    refusal(VaultFileErrorCode.TEXT_INVALID, 422, 'text-invalid', detected,
      `a text upload must be UTF-8 without NUL bytes (${detected})`),
  tooLarge: (limit: number) =>
    refusal(VaultFileErrorCode.TOO_LARGE, 413, 'too-large', `more than ${limit} bytes`,
      `the file exceeds the limit of ${limit} bytes`),
  corrupt: (why: string) =>
    createError(VaultFileErrorCode.CORRUPT, `stored file failed its integrity check: ${why}`, 500),
  version: (v: number) => createError(VaultFileErrorCode.VERSION, `unknown stored file format version ${v}`, 500),
  blobIdInvalid: () => createError(VaultFileErrorCode.BLOB_ID_INVALID, 'a blob id must be a UUID', 400),
  blobNotFound: (id: string) => createError(VaultFileErrorCode.BLOB_NOT_FOUND, `blob ${id} not found`, 404),
  blobExists: (id: string) => createError(VaultFileErrorCode.BLOB_EXISTS, `blob ${id} already exists`, 409),
};

/**
 * The refusal details of an upload error (for the vault service's `security`
 * audit event), or null when `e` is not an upload refusal.
 */
export function uploadRefusal(e: unknown): UploadRefusal | null {
  if (!isCustosError(e) || e.extensions === undefined) return null;
  const { reason, detected } = e.extensions as { reason?: unknown; detected?: unknown };
  if (typeof reason !== 'string' || typeof detected !== 'string') return null;
  return { code: e.code, status: e.status, reason: reason as UploadRefusalReason, detected };
}
