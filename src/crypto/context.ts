import { cryptoError, CryptoErrorCode } from './errors.js';

/**
 * What a ciphertext is bound to. A ciphertext opened under any other context
 * (another tenant, collection/purpose, record or field) fails to decrypt.
 */
export interface EncryptionContext {
  /** Tenant id; platform-scope data uses a reserved value such as "_platform". */
  readonly tenantId: string;
  /** Collection or purpose, e.g. "integrations". */
  readonly purpose: string;
  /** Record / object id. */
  readonly objectId: string;
  /** Field name within the record. */
  readonly field: string;
}

/** Longest accepted context member, in UTF-8 bytes. */
export const MAX_CONTEXT_FIELD_BYTES = 1024;

/** Purpose prefix reserved for wrapped keys; data contexts may not use it. */
export const RESERVED_KEY_PURPOSE_PREFIX = 'custos.key/';

// A lone surrogate encodes to U+FFFD in UTF-8, so two different strings would
// share one encoding; refusing them keeps the encoding injective.
const EMPTY = Buffer.alloc(0);
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function checkPart(name: string, value: unknown): number {
  if (typeof value !== 'string' || value.length === 0) {
    throw cryptoError(CryptoErrorCode.CONTEXT_INVALID, `encryption context ${name} must be a non-empty string`);
  }
  if (LONE_SURROGATE.test(value)) {
    throw cryptoError(CryptoErrorCode.CONTEXT_INVALID, `encryption context ${name} is not well-formed Unicode`);
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_CONTEXT_FIELD_BYTES) {
    throw cryptoError(
      CryptoErrorCode.CONTEXT_INVALID,
      `encryption context ${name} is ${bytes} bytes; at most ${MAX_CONTEXT_FIELD_BYTES} allowed`,
    );
  }
  return bytes;
}

/**
 * Encodes an EncryptionContext as `u32be(len) | utf8` for tenantId, purpose,
 * objectId, field, in that order: injective, so two different contexts never
 * produce the same AAD. Throws CRYPTO_CONTEXT_INVALID on an empty, too long or
 * ill-formed member, or (unless `allowReserved`) a reserved key-wrap purpose.
 */
export function encodeContext(ctx: EncryptionContext, allowReserved = false): Buffer {
  return encodeContextAfter(EMPTY, ctx, allowReserved);
}

/**
 * `prefix || encodeContext(ctx)` in one allocation (the envelope AAD is
 * header || context; one buffer means one copy and one GCM AAD call).
 */
export function encodeContextAfter(prefix: Buffer, ctx: EncryptionContext, allowReserved: boolean): Buffer {
  if (typeof ctx !== 'object' || ctx === null) {
    throw cryptoError(CryptoErrorCode.CONTEXT_INVALID, 'encryption context is required');
  }
  const a = checkPart('tenantId', ctx.tenantId);
  const b = checkPart('purpose', ctx.purpose);
  const c = checkPart('objectId', ctx.objectId);
  const d = checkPart('field', ctx.field);
  if (!allowReserved && ctx.purpose.startsWith(RESERVED_KEY_PURPOSE_PREFIX)) {
    throw cryptoError(
      CryptoErrorCode.CONTEXT_INVALID,
      `encryption context purpose prefix "${RESERVED_KEY_PURPOSE_PREFIX}" is reserved for wrapped keys`,
    );
  }
  const out = Buffer.allocUnsafe(prefix.length + 16 + a + b + c + d);
  let o = prefix.copy(out, 0);
  o = out.writeUInt32BE(a, o);
  o += out.write(ctx.tenantId, o, 'utf8');
  o = out.writeUInt32BE(b, o);
  o += out.write(ctx.purpose, o, 'utf8');
  o = out.writeUInt32BE(c, o);
  o += out.write(ctx.objectId, o, 'utf8');
  o = out.writeUInt32BE(d, o);
  out.write(ctx.field, o, 'utf8');
  return out;
}

/**
 * Length-prefixed (`u32be(len) | bytes`) encoding of a list of strings or
 * byte strings: an unambiguous AAD / HKDF info for callers that bind several
 * values (e.g. root-key wraps: purpose, tenant id, key version). Throws
 * CRYPTO_INPUT_INVALID on a string that is not well-formed Unicode.
 */
export function encodeParts(...parts: ReadonlyArray<string | Uint8Array>): Buffer {
  const bufs = parts.map((p) => {
    if (typeof p === 'string') {
      if (LONE_SURROGATE.test(p)) {
        throw cryptoError(CryptoErrorCode.INPUT_INVALID, 'encoded part is not well-formed Unicode');
      }
      return Buffer.from(p, 'utf8');
    }
    return p;
  });
  const out = Buffer.allocUnsafe(bufs.reduce((n, b) => n + 4 + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    o = out.writeUInt32BE(b.length, o);
    out.set(b, o);
    o += b.length;
  }
  return out;
}
