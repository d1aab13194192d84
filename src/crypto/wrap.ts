import { RESERVED_KEY_PURPOSE_PREFIX, type EncryptionContext } from './context.js';
import { openEnvelope, sealEnvelope, type PreparedKey } from './envelope.js';
import { cryptoError, CryptoErrorCode } from './errors.js';

/** What a wrapped child key is bound to (its AAD). */
export interface KeyWrapContext {
  /** Owning tenant; platform keys use a reserved value such as "_platform". */
  readonly tenantId: string;
  /** What the child key is for, e.g. "subject-dek", "tenant-dek", "index-key". */
  readonly purpose: string;
  /** The child key (version)'s id. */
  readonly childKeyId: string;
}

const MAX_CHILD_KEY = 1024;

function toContext(w: KeyWrapContext): EncryptionContext {
  return {
    tenantId: w.tenantId,
    purpose: RESERVED_KEY_PURPOSE_PREFIX + w.purpose,
    objectId: w.childKeyId,
    field: 'key',
  };
}

/**
 * Wraps child key bytes under a parent (e.g. a tenant KEK) as a v1 envelope
 * whose AAD names the tenant, the child key id and its purpose (under the
 * reserved purpose prefix "custos.key/", so a wrapped key can never be opened
 * as data nor data as a key). Counts one use of the parent.
 */
export function wrapKey(parent: PreparedKey, childKey: Buffer, w: KeyWrapContext): Buffer {
  if (!(childKey instanceof Uint8Array) || childKey.length === 0 || childKey.length > MAX_CHILD_KEY) {
    throw cryptoError(CryptoErrorCode.KEY_INVALID, `child key must be 1..${MAX_CHILD_KEY} bytes`);
  }
  return sealEnvelope(parent, childKey, toContext(w), { allowReserved: true });
}

/**
 * Unwraps a key wrapped by wrapKey under the same parent and context; throws
 * the envelope errors of open() (CRYPTO_DECRYPT_FAILED if the child id,
 * purpose or tenant differ).
 */
export function unwrapKey(parent: PreparedKey, wrapped: Buffer, w: KeyWrapContext): Buffer {
  return openEnvelope(parent, wrapped, toContext(w), true);
}
