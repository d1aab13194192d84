import { cryptoError, CryptoErrorCode, KeyErrorCode } from '../errors.js';
import type { RootKeyProviderKind } from './types.js';

/**
 * Root-wrapped blob: `0x01 | kind(1) | rootVersion(u32be) | payload`.
 * The 6-byte header is part of the AAD of every provider, so neither the
 * kind nor the version can be relabelled without unwrap failing.
 */
export const ROOT_BLOB_FORMAT = 0x01;
/** Length of the root blob header. */
export const ROOT_BLOB_HEADER_LEN = 6;
/** Largest key a provider wraps, in bytes. */
export const MAX_WRAP_KEY = 1024;
/** Largest AAD a provider accepts, in bytes. */
export const MAX_WRAP_AAD = 4096;

const KIND_CODE: Record<RootKeyProviderKind, number> = { local: 1, pkcs11: 2, 'aws-kms': 3 };
const CODE_KIND = new Map<number, RootKeyProviderKind>(
  Object.entries(KIND_CODE).map(([k, v]) => [v, k as RootKeyProviderKind]),
);

/** Kind and root version recorded in a wrapped blob. */
export interface WrappedKeyInfo {
  readonly kind: RootKeyProviderKind;
  readonly version: number;
}

/** Builds the header for a blob wrapped by `kind` under root `version` (1..2^32-1). */
export function rootBlobHeader(kind: RootKeyProviderKind, version: number): Buffer {
  const h = Buffer.alloc(ROOT_BLOB_HEADER_LEN);
  h[0] = ROOT_BLOB_FORMAT;
  h[1] = KIND_CODE[kind];
  h.writeUInt32BE(version, 2);
  return h;
}

/**
 * Reads kind and root version from a wrapped blob without unwrapping (the
 * rewrap job uses it to find blobs under old versions). Unauthenticated until
 * unwrap succeeds. Throws KEY_WRAPPED_MALFORMED on a bad header.
 */
export function wrappedKeyInfo(blob: Buffer): WrappedKeyInfo {
  if (!(blob instanceof Uint8Array) || blob.length <= ROOT_BLOB_HEADER_LEN) {
    throw cryptoError(KeyErrorCode.WRAPPED_MALFORMED, 'wrapped key is too short');
  }
  if (blob[0] !== ROOT_BLOB_FORMAT) {
    throw cryptoError(KeyErrorCode.WRAPPED_MALFORMED, `unknown wrapped key format ${blob[0]}`);
  }
  const kind = CODE_KIND.get(blob[1]!);
  const version = blob.readUInt32BE(2);
  if (kind === undefined || version === 0) {
    throw cryptoError(KeyErrorCode.WRAPPED_MALFORMED, 'wrapped key header names no known provider or version');
  }
  return { kind, version };
}

/** A parsed blob of the expected kind: its header (for the AAD), version and payload. */
export interface ParsedBlob {
  readonly header: Buffer;
  readonly version: number;
  readonly payload: Buffer;
}

/** Parses a blob and checks it was made by `kind` (else KEY_PROVIDER_MISMATCH). */
export function parseRootBlob(blob: Buffer, kind: RootKeyProviderKind): ParsedBlob {
  const info = wrappedKeyInfo(blob);
  if (info.kind !== kind) {
    throw cryptoError(
      KeyErrorCode.PROVIDER_MISMATCH,
      `key was wrapped by the ${info.kind} root key provider, not ${kind}`,
    );
  }
  return {
    header: blob.subarray(0, ROOT_BLOB_HEADER_LEN),
    version: info.version,
    payload: blob.subarray(ROOT_BLOB_HEADER_LEN),
  };
}

/** Checks wrap inputs: key (unless null) 1..1024 bytes, aad ≤ 4096 bytes; else CRYPTO_INPUT_INVALID. */
export function checkWrapInput(key: Buffer | null, aad: Buffer): void {
  if (key !== null && (!(key instanceof Uint8Array) || key.length === 0 || key.length > MAX_WRAP_KEY)) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, `key to wrap must be 1..${MAX_WRAP_KEY} bytes`);
  }
  if (!(aad instanceof Uint8Array) || aad.length > MAX_WRAP_AAD) {
    throw cryptoError(CryptoErrorCode.INPUT_INVALID, `wrap AAD must be a Buffer of at most ${MAX_WRAP_AAD} bytes`);
  }
}
