import { createError, type CustosError } from '../shared/errors.js';

/**
 * Error codes of the crypto layer. Messages name what failed and why, and
 * never carry key material, plaintext or passphrases. Integrity failures map
 * to 500 (they are never the client's fault); unreachable key services to 503.
 */
export const CryptoErrorCode = {
  /** Envelope shorter than its fixed header + IV + tag. */
  ENVELOPE_MALFORMED: 'CRYPTO_ENVELOPE_MALFORMED',
  /** Envelope starts with a format version this build does not know. */
  ENVELOPE_VERSION: 'CRYPTO_ENVELOPE_VERSION',
  /** Envelope was sealed under another key id than the key supplied. */
  KEY_ID_MISMATCH: 'CRYPTO_KEY_ID_MISMATCH',
  /** Same key id, but the key's commitment differs: wrong key material. */
  KEY_COMMITMENT_MISMATCH: 'CRYPTO_KEY_COMMITMENT_MISMATCH',
  /** GCM authentication failed: ciphertext, tag or context changed. */
  DECRYPT_FAILED: 'CRYPTO_DECRYPT_FAILED',
  /** Encryption context missing a field, too long, or not well-formed text. */
  CONTEXT_INVALID: 'CRYPTO_CONTEXT_INVALID',
  /** Key bytes or key id of the wrong shape. */
  KEY_INVALID: 'CRYPTO_KEY_INVALID',
  /** Other argument of the wrong shape (lengths, limits). */
  INPUT_INVALID: 'CRYPTO_INPUT_INVALID',
  /** A PreparedKey was used after destroy(). */
  KEY_DESTROYED: 'CRYPTO_KEY_DESTROYED',
  /** The data key sealed its usage limit: rotate it. */
  USAGE_LIMIT: 'KEY_USAGE_LIMIT',
} as const;

/** Error codes of root key providers (local keyring, PKCS#11, AWS KMS). */
export const KeyErrorCode = {
  PROVIDER_CONFIG: 'KEY_PROVIDER_CONFIG',
  PROVIDER_CLOSED: 'KEY_PROVIDER_CLOSED',
  PROVIDER_MISMATCH: 'KEY_PROVIDER_MISMATCH',
  WRAPPED_MALFORMED: 'KEY_WRAPPED_MALFORMED',
  ROOT_VERSION_UNKNOWN: 'KEY_ROOT_VERSION_UNKNOWN',
  UNWRAP_FAILED: 'KEY_UNWRAP_FAILED',
  KEYRING_MISSING: 'KEY_KEYRING_MISSING',
  KEYRING_EXISTS: 'KEY_KEYRING_EXISTS',
  KEYRING_CORRUPT: 'KEY_KEYRING_CORRUPT',
  KEYRING_CHANGED: 'KEY_KEYRING_CHANGED',
  PASSPHRASE_WRONG: 'KEY_PASSPHRASE_WRONG',
  PASSPHRASE_REQUIRED: 'KEY_PASSPHRASE_REQUIRED',
  KEYFILE_MISSING: 'KEY_KEYFILE_MISSING',
  KEYFILE_PERMISSIONS: 'KEY_KEYFILE_PERMISSIONS',
  KEYFILE_WRONG: 'KEY_KEYFILE_WRONG',
  HSM_LIBRARY: 'KEY_HSM_LIBRARY',
  HSM_TOKEN_MISSING: 'KEY_HSM_TOKEN_MISSING',
  HSM_PIN_WRONG: 'KEY_HSM_PIN_WRONG',
  HSM_PIN_LOCKED: 'KEY_HSM_PIN_LOCKED',
  HSM_KEY_MISSING: 'KEY_HSM_KEY_MISSING',
  HSM_KEY_EXISTS: 'KEY_HSM_KEY_EXISTS',
  HSM_KEY_UNSAFE: 'KEY_HSM_KEY_UNSAFE',
  HSM_BUSY: 'KEY_HSM_BUSY',
  HSM_ERROR: 'KEY_HSM_ERROR',
  KMS_UNAVAILABLE: 'KEY_KMS_UNAVAILABLE',
  KMS_ACCESS_DENIED: 'KEY_KMS_ACCESS_DENIED',
  KMS_KEY_UNAVAILABLE: 'KEY_KMS_KEY_UNAVAILABLE',
} as const;

type Code =
  | (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode]
  | (typeof KeyErrorCode)[keyof typeof KeyErrorCode];

const UNAVAILABLE: ReadonlySet<string> = new Set([
  KeyErrorCode.KMS_UNAVAILABLE,
  KeyErrorCode.HSM_TOKEN_MISSING,
  KeyErrorCode.HSM_ERROR,
]);

/** Creates a coded crypto/key error; status 503 for unreachable key services, else 500. */
export function cryptoError(code: Code, message: string): CustosError {
  return createError(code, message, UNAVAILABLE.has(code) ? 503 : 500);
}
