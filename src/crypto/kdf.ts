import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { encodeParts } from './context.js';
import { cryptoError, CryptoErrorCode } from './errors.js';

const HKDF_SHA256_MAX = 255 * 32;
const INDEX_INFO = 'custos/v1/index';
const MAX_NAME_BYTES = 256;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Default blind-index length in bytes (128 bits, 22 base64url characters). */
export const BLIND_INDEX_BYTES = 16;

function asBytes(v: Uint8Array | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * HKDF-SHA256 (RFC 5869): extract with `salt` (empty = HashLen zero bytes),
 * expand with `info` to `length` bytes. Throws CRYPTO_INPUT_INVALID when
 * `length` is not in [1, 8160] (255 × HashLen).
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > HKDF_SHA256_MAX) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, `HKDF-SHA256 output length must be 1..${HKDF_SHA256_MAX} bytes`);
  }
  return Buffer.from(hkdfSync('sha256', ikm, salt, asBytes(info), length));
}

/** HMAC-SHA256(key, msg) as 32 bytes. */
export function hmacSha256(key: Uint8Array, msg: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(asBytes(msg)).digest();
}

function checkName(what: string, v: string): void {
  if (typeof v !== 'string' || v.length === 0 || LONE_SURROGATE.test(v) || Buffer.byteLength(v) > MAX_NAME_BYTES) {
    throw cryptoError(
      CryptoErrorCode.INPUT_INVALID,
      `${what} must be a non-empty, well-formed string of at most ${MAX_NAME_BYTES} bytes`,
    );
  }
}

/**
 * Per-field blind-index key: HKDF-SHA256(tenantIndexKey, salt = "",
 * info = parts("custos/v1/index", collection, field)), 32 bytes. Length-prefixed
 * info, so ("ab","c") and ("a","bc") get different keys; per-tenant input key,
 * so equal values in two tenants give unrelated indexes. `tenantIndexKey` must
 * be 32 bytes (CRYPTO_KEY_INVALID otherwise).
 */
export function deriveIndexKey(tenantIndexKey: Uint8Array, collection: string, field: string): Buffer {
  if (!(tenantIndexKey instanceof Uint8Array) || tenantIndexKey.length !== 32) {
    throw cryptoError(CryptoErrorCode.KEY_INVALID, 'tenant index key must be 32 bytes');
  }
  checkName('collection', collection);
  checkName('field', field);
  return hkdfSha256(tenantIndexKey, Buffer.alloc(0), encodeParts(INDEX_INFO, collection, field), 32);
}

/**
 * Blind index for equality search: base64url(HMAC-SHA256(indexKey, value))
 * truncated to `bytes` (8..32, default 16). The caller normalises the value
 * first (case, Unicode form, whitespace: field-specific). Truncation to 128
 * bits keeps index columns small while accidental collisions stay negligible
 * (~2^-64 at 2^32 values); a match is a candidate, confirmed by decrypting.
 * Below 8 bytes would make collisions routine, so it is refused.
 */
export function blindIndex(indexKey: Uint8Array, normalizedValue: string | Uint8Array, bytes = BLIND_INDEX_BYTES): string {
  if (!(indexKey instanceof Uint8Array) || indexKey.length !== 32) {
    throw cryptoError(CryptoErrorCode.KEY_INVALID, 'index key must be 32 bytes');
  }
  if (!Number.isInteger(bytes) || bytes < 8 || bytes > 32) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, 'blind index length must be 8..32 bytes');
  }
  if (typeof normalizedValue === 'string' && LONE_SURROGATE.test(normalizedValue)) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, 'blind index value is not well-formed Unicode');
  }
  return hmacSha256(indexKey, normalizedValue).subarray(0, bytes).toString('base64url');
}

/**
 * Constant-time equality of two byte strings: false on different lengths
 * (length is not secret here), otherwise crypto.timingSafeEqual.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Constant-time string equality (tokens, codes, MACs): compares SHA-256
 * digests of the UTF-8 bytes with timingSafeEqual, so neither content nor
 * the length of the secret operand leaks through early exit.
 */
export function timingSafeEqualStr(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
