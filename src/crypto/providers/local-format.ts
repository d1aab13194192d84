import { randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { gcmOpen, gcmSeal } from '../aead.js';
import { encodeParts } from '../context.js';
import { cryptoError, KeyErrorCode } from '../errors.js';
import { constantTimeEqual, hmacSha256 } from '../kdf.js';

/** scrypt cost parameters, stored in the keyring file. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * Default scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB; about 0.65 s on the development machine), the
 * OWASP Password Storage Cheat Sheet's recommended minimum for scrypt.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

export const KEYRING_FORMAT = 'custos.keyring.v1';

export type Protection =
  | { type: 'passphrase'; kdf: 'scrypt'; N: number; r: number; p: number; salt: string }
  | { type: 'keyfile' };

export interface SealedVersion {
  version: number;
  createdAt: string;
  sealed: string;
}

/** The JSON document at `<dir>/root.json`. Holds only sealed root keys. */
export interface KeyringFile {
  format: typeof KEYRING_FORMAT;
  protection: Protection;
  /** base64 HMAC-SHA256(KEK, "custos/keyring/v1/check"): tells a wrong secret from a damaged file. */
  check: string;
  current: number;
  versions: SealedVersion[];
}

const CHECK_LABEL = 'custos/keyring/v1/check';
const ROOT_LABEL = 'custos/keyring/v1/root';
const MAX_SCRYPT_MEM = 1024 ** 3;

function corrupt(path: string, why: string): Error {
  return cryptoError(KeyErrorCode.KEYRING_CORRUPT, `keyring ${path} is damaged: ${why}`);
}

/** Checks scrypt parameters: N a power of two in [2, 2^20], r 1..32, p 1..16, memory ≤ 1 GiB. */
export function checkScryptParams(s: ScryptParams): boolean {
  const okN = Number.isInteger(s.N) && s.N >= 2 && s.N <= 2 ** 20 && (s.N & (s.N - 1)) === 0;
  const okR = Number.isInteger(s.r) && s.r >= 1 && s.r <= 32;
  const okP = Number.isInteger(s.p) && s.p >= 1 && s.p <= 16;
  return okN && okR && okP && 128 * s.N * s.r * s.p <= MAX_SCRYPT_MEM;
}

/** Derives the 32-byte KEK from a passphrase (NFC-normalised) with scrypt, off the event loop. */
export function deriveKek(passphrase: string, salt: Buffer, s: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: s.N, r: s.r, p: s.p, maxmem: 128 * s.N * s.r * s.p + 2 ** 20 };
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize('NFC'), salt, 32, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Computes the KEK check value stored in the file. */
export function kekCheck(kek: Buffer): string {
  return hmacSha256(kek, CHECK_LABEL).toString('base64');
}

/** True if `kek` matches the file's check value (constant time). */
export function kekMatches(kek: Buffer, file: KeyringFile): boolean {
  return constantTimeEqual(Buffer.from(kekCheck(kek), 'base64'), Buffer.from(file.check, 'base64'));
}

/** Seals one root key version under the KEK, bound to its version number. */
export function sealVersion(kek: Buffer, version: number, rootKey: Buffer, now: Date): SealedVersion {
  const sealed = gcmSeal(kek, rootKey, [encodeParts(ROOT_LABEL, String(version))]);
  return { version, createdAt: now.toISOString(), sealed: sealed.toString('base64') };
}

/** Unseals one version; KEY_KEYRING_CORRUPT if it fails although the KEK check passed. */
export function unsealVersion(kek: Buffer, v: SealedVersion, path: string): Buffer {
  const key = gcmOpen(kek, Buffer.from(v.sealed, 'base64'), [encodeParts(ROOT_LABEL, String(v.version))]);
  if (key === null || key.length !== 32) throw corrupt(path, `root key version ${v.version} does not authenticate`);
  return key;
}

/** A new passphrase protection block with a random 16-byte salt. */
export function newPassphraseProtection(s: ScryptParams): Protection {
  return { type: 'passphrase', kdf: 'scrypt', N: s.N, r: s.r, p: s.p, salt: randomBytes(16).toString('base64') };
}

function isVersion(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) < 2 ** 32;
}

function parseProtection(p: unknown, path: string): Protection {
  const o = p as Record<string, unknown> | null;
  if (o?.['type'] === 'keyfile') return { type: 'keyfile' };
  if (o?.['type'] !== 'passphrase' || o['kdf'] !== 'scrypt' || typeof o['salt'] !== 'string') {
    throw corrupt(path, 'unknown protection');
  }
  const s = { N: o['N'] as number, r: o['r'] as number, p: o['p'] as number };
  if (!checkScryptParams(s)) throw corrupt(path, 'scrypt parameters out of range');
  return { type: 'passphrase', kdf: 'scrypt', ...s, salt: o['salt'] };
}

function parseVersion(v: unknown, path: string): SealedVersion {
  const o = v as Record<string, unknown> | null;
  if (!isVersion(o?.['version']) || typeof o?.['sealed'] !== 'string' || typeof o['createdAt'] !== 'string') {
    throw corrupt(path, 'malformed version entry');
  }
  return { version: o['version'] as number, createdAt: o['createdAt'], sealed: o['sealed'] };
}

/** Parses and structurally validates root.json; KEY_KEYRING_CORRUPT on anything unexpected. */
export function parseKeyringFile(text: string, path: string): KeyringFile {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw corrupt(path, 'not JSON');
  }
  if (raw?.['format'] !== KEYRING_FORMAT) throw corrupt(path, `format is not ${KEYRING_FORMAT}`);
  if (typeof raw['check'] !== 'string' || !Array.isArray(raw['versions']) || !isVersion(raw['current'])) {
    throw corrupt(path, 'missing check, versions or current');
  }
  const versions = raw['versions'].map((v) => parseVersion(v, path));
  const numbers = new Set(versions.map((v) => v.version));
  if (numbers.size !== versions.length || !numbers.has(raw['current'] as number)) {
    throw corrupt(path, 'duplicate versions or current version missing');
  }
  return {
    format: KEYRING_FORMAT,
    protection: parseProtection(raw['protection'], path),
    check: raw['check'],
    current: raw['current'] as number,
    versions,
  };
}

/** Encodes a key file's content: the 32-byte key as one base64 line. */
export function encodeKeyFile(key: Buffer): string {
  return `${key.toString('base64')}\n`;
}

/** Decodes a key file; KEY_KEYFILE_WRONG unless it holds exactly 32 base64 bytes. */
export function decodeKeyFile(content: Buffer, path: string): Buffer {
  const text = content.toString('utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text) || key.length !== 32) {
    throw cryptoError(KeyErrorCode.KEYFILE_WRONG, `key file ${path} does not hold a 32-byte base64 key`);
  }
  return key;
}
