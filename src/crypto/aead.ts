import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { cryptoError, CryptoErrorCode } from './errors.js';

const ALG = 'aes-256-gcm';
/** GCM IV length (96 bits, the only size this layer produces or accepts). */
export const GCM_IV_LEN = 12;
/** GCM tag length (128 bits; shorter tags are refused). */
export const GCM_TAG_LEN = 16;

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw cryptoError(CryptoErrorCode.KEY_INVALID, 'AES-256-GCM key must be 32 bytes');
  }
}

/**
 * AES-256-GCM under `key` with a fresh random 96-bit IV (or `iv`, for fixed
 * vectors only); the AAD is the concatenation of `aad` parts. Returns
 * `iv(12) | ciphertext | tag(16)`. Not key-committing: use it where the key
 * is a single fixed secret (root keys, the keyring KEK), envelopes elsewhere.
 */
export function gcmSeal(key: Uint8Array, plaintext: Uint8Array, aad: readonly Uint8Array[], iv?: Buffer): Buffer {
  checkKey(key);
  const nonce = iv ?? randomBytes(GCM_IV_LEN);
  if (nonce.length !== GCM_IV_LEN) throw cryptoError(CryptoErrorCode.INPUT_INVALID, 'IV must be 12 bytes');
  const cipher = createCipheriv(ALG, key, nonce, { authTagLength: GCM_TAG_LEN });
  for (const part of aad) cipher.setAAD(part);
  const ct = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([nonce, ct, cipher.getAuthTag()]);
}

/**
 * Opens `iv(12) | ciphertext | tag(16)` from gcmSeal under `key` and the same
 * AAD parts. Returns the plaintext, or null when authentication fails or the
 * input is too short (no partial plaintext is ever returned).
 */
export function gcmOpen(key: Uint8Array, sealed: Uint8Array, aad: readonly Uint8Array[]): Buffer | null {
  checkKey(key);
  if (!(sealed instanceof Uint8Array) || sealed.length < GCM_IV_LEN + GCM_TAG_LEN) return null;
  const tagAt = sealed.length - GCM_TAG_LEN;
  const decipher = createDecipheriv(ALG, key, sealed.subarray(0, GCM_IV_LEN), { authTagLength: GCM_TAG_LEN });
  decipher.setAuthTag(sealed.subarray(tagAt));
  for (const part of aad) decipher.setAAD(part);
  const pt = decipher.update(sealed.subarray(GCM_IV_LEN, tagAt));
  try {
    decipher.final();
  } catch {
    pt.fill(0);
    return null;
  }
  return pt;
}
