import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { encodeContextAfter, type EncryptionContext } from './context.js';
import { cryptoError, CryptoErrorCode } from './errors.js';

/** Envelope format version 1 (the first byte of every envelope). */
export const ENVELOPE_V1 = 0x01;
const KEY_ID_LEN = 16;
const COMMIT_LEN = 32;
const IV_LEN = 12;
const TAG_LEN = 16;
/** `version | keyId | commitment`: the bytes that head the AAD. */
export const ENVELOPE_HEADER_LEN = 1 + KEY_ID_LEN + COMMIT_LEN;
const IV_OFFSET = ENVELOPE_HEADER_LEN;
const CT_OFFSET = IV_OFFSET + IV_LEN;
/** Smallest well-formed envelope: header, IV and tag around an empty plaintext. */
export const ENVELOPE_MIN_LEN = CT_OFFSET + TAG_LEN;
/** NIST SP 800-38D §8.3: at most 2^32 encryptions per key with random 96-bit IVs. */
export const DEFAULT_USAGE_LIMIT = 2 ** 32;

const ALG = 'aes-256-gcm';
const EMPTY = Buffer.alloc(0);
const INFO_ENC = Buffer.from('custos/v1/enc');
const INFO_COMMIT = Buffer.from('custos/v1/commit');
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface KeyState {
  encKey: Buffer;
  commitment: Buffer;
  keyIdBytes: Buffer;
  header: Buffer;
  usage: number;
  destroyed: boolean;
}

/** Options of prepareKey. */
export interface PrepareKeyOptions {
  /** Refuse to seal once this many envelopes were sealed (default and maximum 2^32). */
  usageLimit?: number;
  /** Encryptions already made under this key (e.g. a persisted counter), default 0. */
  initialUsage?: number;
}

let stateOf: (key: PreparedKey) => KeyState;
// Only prepareKey() holds this token, so no caller can forge a PreparedKey.
const CONSTRUCT = Symbol('PreparedKey');

/**
 * A data key made ready for sealing: the GCM key and commitment derived once,
 * the envelope header precomputed. Holds no copy of the data key itself; its
 * secrets sit in a #private field (invisible to inspect/JSON). Cache it; call
 * destroy() when evicting it.
 */
export class PreparedKey {
  /** The data-key version's UUID (lower case). */
  readonly keyId: string;
  /** Seal refuses with KEY_USAGE_LIMIT once `usage` reaches this. */
  readonly usageLimit: number;
  #state: KeyState;

  static {
    stateOf = (key: PreparedKey): KeyState => {
      const st = key.#state;
      if (st.destroyed) throw cryptoError(CryptoErrorCode.KEY_DESTROYED, `key ${key.keyId} was destroyed`);
      return st;
    };
  }

  /** @internal use prepareKey(). */
  constructor(token: symbol, keyId: string, state: KeyState, usageLimit: number) {
    if (token !== CONSTRUCT) throw new TypeError('use prepareKey() to make a PreparedKey');
    this.keyId = keyId;
    this.usageLimit = usageLimit;
    this.#state = state;
  }

  /** Envelopes sealed so far under this key (including initialUsage). */
  get usage(): number {
    return this.#state.usage;
  }

  /** The public key commitment (it is in every envelope; not secret). */
  get commitment(): Buffer {
    return Buffer.from(this.#state.commitment);
  }

  /** Zeroes the derived GCM key; any later use throws CRYPTO_KEY_DESTROYED. */
  destroy(): void {
    this.#state.encKey.fill(0);
    this.#state.destroyed = true;
  }

  toJSON(): { keyId: string; usage: number } {
    return { keyId: this.keyId, usage: this.#state.usage };
  }

  [inspect.custom](): string {
    return `PreparedKey { keyId: '${this.keyId}', usage: ${this.#state.usage} }`;
  }
}

/** Parses a UUID string into its 16 bytes; throws CRYPTO_KEY_INVALID if it is not one. */
export function uuidToBytes(id: string): Buffer {
  if (typeof id !== 'string' || !UUID_RE.test(id)) {
    throw cryptoError(CryptoErrorCode.KEY_INVALID, 'key id must be a UUID (8-4-4-4-12 hex)');
  }
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

/** Formats 16 bytes as a lower-case hyphenated UUID. */
export function bytesToUuid(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function checkLimit(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > DEFAULT_USAGE_LIMIT) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, `${name} must be an integer in [${min}, 2^32]`);
  }
}

/**
 * Derives, once, encKey = HKDF-SHA256(dk, salt = "", info = "custos/v1/enc")
 * and commitment = HKDF-SHA256(dk, "", "custos/v1/commit") (32 bytes each).
 * `dk` must be 32 bytes and is not retained (the caller may zero it).
 * Throws CRYPTO_KEY_INVALID on a bad key id or key length.
 */
export function prepareKey(keyId: string, dk: Buffer, options: PrepareKeyOptions = {}): PreparedKey {
  const keyIdBytes = uuidToBytes(keyId);
  if (!(dk instanceof Uint8Array) || dk.length !== 32) {
    throw cryptoError(CryptoErrorCode.KEY_INVALID, 'data key must be 32 bytes');
  }
  const usageLimit = options.usageLimit ?? DEFAULT_USAGE_LIMIT;
  const usage = options.initialUsage ?? 0;
  checkLimit('usageLimit', usageLimit, 1);
  checkLimit('initialUsage', usage, 0);
  const encKey = Buffer.from(hkdfSync('sha256', dk, EMPTY, INFO_ENC, 32));
  const commitment = Buffer.from(hkdfSync('sha256', dk, EMPTY, INFO_COMMIT, 32));
  const header = Buffer.alloc(ENVELOPE_HEADER_LEN);
  header[0] = ENVELOPE_V1;
  keyIdBytes.copy(header, 1);
  commitment.copy(header, 1 + KEY_ID_LEN);
  const state: KeyState = { encKey, commitment, keyIdBytes, header, usage, destroyed: false };
  return new PreparedKey(CONSTRUCT, bytesToUuid(keyIdBytes), state, usageLimit);
}

// IVs come from a pool refilled by the CSPRNG 512 IVs at a time: one
// randomFillSync per IV costs as much as the AES work on 1 KiB. Each pooled IV
// is handed out once and then zeroed. (Node never fork()s a running isolate,
// so no two processes can share a pool.)
const IV_POOL_SIZE = IV_LEN * 512;
const ivPool = Buffer.allocUnsafeSlow(IV_POOL_SIZE);
let ivPos = IV_POOL_SIZE;

function takeIv(out: Buffer, offset: number): void {
  if (ivPos === IV_POOL_SIZE) {
    randomFillSync(ivPool);
    ivPos = 0;
  }
  ivPool.copy(out, offset, ivPos, ivPos + IV_LEN);
  ivPool.fill(0, ivPos, ivPos + IV_LEN);
  ivPos += IV_LEN;
}

/** @internal Options of sealEnvelope: a fixed IV (vectors only) and the reserved key-wrap purpose. */
export interface SealInternalOptions {
  fixedIv?: Buffer;
  allowReserved?: boolean;
}

/** @internal seal() with options; used by key wrapping and the fixed test vector. */
export function sealEnvelope(
  key: PreparedKey,
  plaintext: Buffer,
  ctx: EncryptionContext,
  opts: SealInternalOptions,
): Buffer {
  const st = stateOf(key);
  if (!(plaintext instanceof Uint8Array)) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, 'plaintext must be a Buffer');
  }
  const aad = encodeContextAfter(st.header, ctx, opts.allowReserved === true);
  if (st.usage >= key.usageLimit) {
    throw cryptoError(
      CryptoErrorCode.USAGE_LIMIT,
      `key ${key.keyId} reached its usage limit of ${key.usageLimit} encryptions; rotate it`,
    );
  }
  if (opts.fixedIv !== undefined && opts.fixedIv.length !== IV_LEN) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, 'IV must be 12 bytes');
  }
  st.usage += 1; // counted before encrypting, so a failure never under-counts
  const n = plaintext.length;
  const out = Buffer.allocUnsafe(CT_OFFSET + n + TAG_LEN);
  st.header.copy(out, 0);
  if (opts.fixedIv === undefined) takeIv(out, IV_OFFSET);
  else opts.fixedIv.copy(out, IV_OFFSET);
  const cipher = createCipheriv(ALG, st.encKey, out.subarray(IV_OFFSET, CT_OFFSET), { authTagLength: TAG_LEN });
  cipher.setAAD(aad);
  cipher.update(plaintext).copy(out, CT_OFFSET);
  cipher.final();
  cipher.getAuthTag().copy(out, CT_OFFSET + n);
  return out;
}

/**
 * Seals `plaintext` under `key`, bound to `ctx`:
 * `0x01 | keyId(16) | commitment(32) | iv(12) | ciphertext | tag(16)`, with
 * AAD = header || encodeContext(ctx) and a fresh random IV. Counts one use;
 * throws KEY_USAGE_LIMIT at the limit, CRYPTO_CONTEXT_INVALID on a bad context.
 */
export function seal(key: PreparedKey, plaintext: Buffer, ctx: EncryptionContext): Buffer {
  return sealEnvelope(key, plaintext, ctx, {});
}

function checkHeader(envelope: Buffer): void {
  if (!(envelope instanceof Uint8Array) || envelope.length === 0) {
    throw cryptoError(CryptoErrorCode.ENVELOPE_MALFORMED, 'envelope is empty');
  }
  if (envelope[0] !== ENVELOPE_V1) {
    throw cryptoError(CryptoErrorCode.ENVELOPE_VERSION, `unknown envelope version ${envelope[0]}`);
  }
  if (envelope.length < ENVELOPE_MIN_LEN) {
    throw cryptoError(
      CryptoErrorCode.ENVELOPE_MALFORMED,
      `envelope is ${envelope.length} bytes; a v1 envelope has at least ${ENVELOPE_MIN_LEN}`,
    );
  }
}

/**
 * Reads the key id (UUID) an envelope was sealed under, without decrypting.
 * Throws CRYPTO_ENVELOPE_MALFORMED / CRYPTO_ENVELOPE_VERSION on a bad envelope.
 * The id is unauthenticated until open() succeeds: use it only to pick a key.
 */
export function envelopeKeyId(envelope: Buffer): string {
  checkHeader(envelope);
  return bytesToUuid(envelope.subarray(1, 1 + KEY_ID_LEN));
}

/** @internal open() that may accept the reserved key-wrap purpose. */
export function openEnvelope(key: PreparedKey, envelope: Buffer, ctx: EncryptionContext, allowReserved: boolean): Buffer {
  const st = stateOf(key);
  checkHeader(envelope);
  if (st.keyIdBytes.compare(envelope, 1, 1 + KEY_ID_LEN) !== 0) {
    throw cryptoError(
      CryptoErrorCode.KEY_ID_MISMATCH,
      `envelope was sealed under key ${envelopeKeyId(envelope)}, not ${key.keyId}`,
    );
  }
  if (!timingSafeEqual(st.commitment, envelope.subarray(1 + KEY_ID_LEN, ENVELOPE_HEADER_LEN))) {
    throw cryptoError(
      CryptoErrorCode.KEY_COMMITMENT_MISMATCH,
      `key commitment mismatch for key ${key.keyId}: the key material is not the one that sealed this envelope`,
    );
  }
  const aad = encodeContextAfter(st.header, ctx, allowReserved);
  const tagAt = envelope.length - TAG_LEN;
  const decipher = createDecipheriv(ALG, st.encKey, envelope.subarray(IV_OFFSET, CT_OFFSET), {
    authTagLength: TAG_LEN,
  });
  decipher.setAuthTag(envelope.subarray(tagAt));
  decipher.setAAD(aad);
  const plaintext = decipher.update(envelope.subarray(CT_OFFSET, tagAt));
  try {
    decipher.final();
  } catch {
    plaintext.fill(0); // never release unauthenticated plaintext
    throw cryptoError(
      CryptoErrorCode.DECRYPT_FAILED,
      `decryption failed under key ${key.keyId}: the ciphertext was altered or does not belong to this tenant/purpose/object/field`,
    );
  }
  return plaintext;
}

/**
 * Opens an envelope sealed by seal() under the same key and context. Checks,
 * in order: format (CRYPTO_ENVELOPE_MALFORMED / _VERSION), key id
 * (CRYPTO_KEY_ID_MISMATCH), commitment in constant time
 * (CRYPTO_KEY_COMMITMENT_MISMATCH), then GCM with the context as AAD
 * (CRYPTO_DECRYPT_FAILED). Returns the plaintext only if all pass.
 */
export function open(key: PreparedKey, envelope: Buffer, ctx: EncryptionContext): Buffer {
  return openEnvelope(key, envelope, ctx, false);
}
