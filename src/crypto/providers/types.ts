/** Which root key provider holds the root key. */
export type RootKeyProviderKind = 'local' | 'pkcs11' | 'aws-kms';

/** What a provider can say about itself: never key material or PINs. */
export interface RootKeyDescription {
  readonly kind: RootKeyProviderKind;
  /** The root key version new wraps use. */
  readonly keyVersion: number;
  /** Versions this provider can unwrap, ascending (old versions stay decrypt-only). */
  readonly versions: readonly number[];
  /** Non-secret details: keyring path, token and key labels, KMS key ARN and region. */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

/** A freshly generated key and its wrapped form. */
export interface GeneratedKey {
  /** The plaintext key (32 bytes); the caller zeroes it when done. */
  readonly key: Buffer;
  /** The key wrapped under the current root version. */
  readonly wrapped: Buffer;
}

/**
 * The root of the key hierarchy: wraps and unwraps lower keys (tenant KEKs,
 * platform keys) and never reveals the root key itself.
 *
 * Contract for every implementation:
 * - `wrap` output is self-describing: `wrappedKeyInfo(blob)` recovers the
 *   provider kind and the root version that wrapped it (see blob.ts), and
 *   the header is authenticated together with `aad`.
 * - `unwrap` succeeds only with the same `aad`; any change to blob or aad is
 *   KEY_UNWRAP_FAILED. A blob of another provider kind is KEY_PROVIDER_MISMATCH.
 * - `rotate` makes a new root version that later wraps use; every older
 *   version still unwraps (a rewrap job moves blobs forward).
 * - Errors are coded (KEY_*), change nothing on disk or in the HSM, and name
 *   no secret. After `close`, every call is KEY_PROVIDER_CLOSED.
 */
export interface RootKeyProvider {
  readonly kind: RootKeyProviderKind;
  /** Wraps `key` (1..1024 bytes) under the current root version, bound to `aad` (≤ 4096 bytes). */
  wrap(key: Buffer, aad: Buffer): Promise<Buffer>;
  /** Unwraps a blob made by `wrap` / `generateWrappedKey` with the same `aad`. */
  unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer>;
  /** Generates a random 32-byte key and wraps it (AWS KMS: GenerateDataKey, randomness from KMS). */
  generateWrappedKey(aad: Buffer): Promise<GeneratedKey>;
  /** Current version, known versions and non-secret details. */
  describe(): RootKeyDescription;
  /** Creates a new root version; older versions keep unwrapping. */
  rotate(): Promise<void>;
  /** Releases sessions/handles and forgets in-memory key material. Idempotent. */
  close(): Promise<void>;
}
