/**
 * Ed25519 (RFC 8032) through node:crypto, with raw 32-byte key encodings as
 * signed notes use them. Verification never throws: anything malformed is a
 * failed verification.
 */
import { KeyObject, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify } from 'node:crypto';
import { auditError } from './errors.js';

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Imports an Ed25519 private key from its 32-byte RFC 8032 seed. Throws AUDIT_KEY_INVALID otherwise. */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw auditError('KEY_INVALID', 'Ed25519 seed must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

const P = 2n ** 255n - 19n;
let probe: KeyObject | undefined;

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % P;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

/**
 * True for encodings no honest key has: y >= p (non-canonical) or a point of
 * small order, under which forged signatures can verify for many messages.
 * The point is mapped to Montgomery u = (1+y)/(1-y) (the sign of x does not
 * change its order) and multiplied by a clamped X25519 scalar, a multiple of
 * 8: OpenSSL refuses the all-zero result exactly when the order divides 8.
 */
export function isWeakEd25519PublicKey(raw: Uint8Array): boolean {
  const bytes = Buffer.from(raw);
  bytes[31] = (bytes[31] as number) & 0x7f;
  const y = BigInt(`0x${bytes.reverse().toString('hex')}`);
  if (y >= P) return true;
  const denominator = (1n - y + P) % P;
  if (denominator === 0n) return true; // the identity
  const u = ((1n + y) * modPow(denominator, P - 2n)) % P;
  const encoded = Buffer.from(u.toString(16).padStart(64, '0'), 'hex').reverse();
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: encoded.toString('base64url') }, format: 'jwk' });
  probe ??= generateKeyPairSync('x25519').privateKey;
  try {
    diffieHellman({ privateKey: probe, publicKey });
    return false;
  } catch {
    return true;
  }
}

/**
 * Imports an Ed25519 public key from its 32-byte encoding. Throws
 * AUDIT_KEY_INVALID if it is not 32 bytes, not canonical, or of small order.
 */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw auditError('KEY_INVALID', 'Ed25519 public key must be 32 bytes');
  if (isWeakEd25519PublicKey(raw)) throw auditError('KEY_INVALID', 'Ed25519 public key is non-canonical or of small order');
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    throw auditError('KEY_INVALID', 'Ed25519 public key does not decode');
  }
}

/** The 32-byte public key of an Ed25519 KeyObject (public or private). Throws AUDIT_KEY_INVALID for other keys. */
export function ed25519RawPublicKey(key: KeyObject): Buffer {
  if (!(key instanceof KeyObject) || key.asymmetricKeyType !== 'ed25519') {
    throw auditError('KEY_INVALID', 'an Ed25519 key is required');
  }
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** Ed25519 signature (64 bytes) of `message` with `privateKey`. */
export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Buffer {
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw auditError('KEY_INVALID', 'an Ed25519 private key is required');
  }
  return sign(null, message, privateKey);
}

/** True iff `signature` is a valid 64-byte Ed25519 signature of `message` under `publicKey`. */
export function ed25519Verify(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}
