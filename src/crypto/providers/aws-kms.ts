import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { isCustosError, type CustosError } from '../../shared/errors.js';
import { cryptoError, KeyErrorCode } from '../errors.js';
import { checkWrapInput, parseRootBlob, rootBlobHeader } from './blob.js';
import type { GeneratedKey, RootKeyDescription, RootKeyProvider } from './types.js';

/** Options of the AWS KMS root key provider. */
export interface AwsKmsProviderOptions {
  /** Symmetric KMS key: id, ARN or alias (`alias/custos-root`). */
  keyId: string;
  /** AWS region, e.g. "eu-central-1". */
  region: string;
  /** Endpoint override (VPC endpoint, FIPS endpoint, a local fake in tests). */
  endpoint?: string;
  /** Static credentials; default: the SDK's provider chain (env, profile, IMDS, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK attempts per call (default 3). */
  maxAttempts?: number;
}

const AUTH_FAILED = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const KEY_UNAVAILABLE = new Set([
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'KeyUnavailableException',
  'InvalidKeyUsageException',
]);

/** Maps an SDK failure to a coded error naming the operation and the AWS error name only. */
function kmsFailure(e: unknown, op: string, keyId: string): CustosError {
  const name = e instanceof Error ? e.name : 'Error';
  if (AUTH_FAILED.has(name)) {
    return cryptoError(KeyErrorCode.UNWRAP_FAILED, `KMS ${op} with key ${keyId} failed (${name}): blob or AAD altered`);
  }
  if (name === 'AccessDeniedException') {
    return cryptoError(KeyErrorCode.KMS_ACCESS_DENIED, `KMS ${op} on key ${keyId} was denied (check the key policy / IAM)`);
  }
  if (KEY_UNAVAILABLE.has(name)) {
    return cryptoError(KeyErrorCode.KMS_KEY_UNAVAILABLE, `KMS key ${keyId} cannot be used for ${op} (${name})`);
  }
  return cryptoError(KeyErrorCode.KMS_UNAVAILABLE, `KMS ${op} for key ${keyId} failed (${name})`);
}

/**
 * KMS encryption context for a wrap: binds our blob header (kind + root
 * version) and the caller's AAD. Values are base64url (visible in CloudTrail,
 * so AADs should carry identifiers, never secrets).
 */
function encryptionContext(header: Buffer, aad: Buffer): Record<string, string> {
  return { 'custos:header': header.toString('base64url'), 'custos:aad': aad.toString('base64url') };
}

/**
 * The `aws-kms` provider. The root key never leaves KMS: wrap = Encrypt,
 * generateWrappedKey = GenerateDataKey, unwrap = Decrypt (with KeyId pinned),
 * all with an encryption context. Root "version" = 1 + number of completed
 * KMS key rotations: KMS keeps every older key material and picks the right
 * one on Decrypt by itself; the version in the blob only tells a rewrap job
 * which blobs predate the latest rotation.
 */
class AwsKmsProvider implements RootKeyProvider {
  readonly kind = 'aws-kms' as const;
  readonly #client: KMSClient;
  readonly #o: AwsKmsProviderOptions;
  #arn: string;
  #version: number;
  #closed = false;

  constructor(client: KMSClient, o: AwsKmsProviderOptions, arn: string, version: number) {
    this.#client = client;
    this.#o = o;
    this.#arn = arn;
    this.#version = version;
  }

  #live(): void {
    if (this.#closed) throw cryptoError(KeyErrorCode.PROVIDER_CLOSED, 'AWS KMS root key provider is closed');
  }

  async #send<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw kmsFailure(e, op, this.#arn);
    }
  }

  async wrap(key: Buffer, aad: Buffer): Promise<Buffer> {
    this.#live();
    checkWrapInput(key, aad);
    const header = rootBlobHeader('aws-kms', this.#version);
    const out = await this.#send('Encrypt', () =>
      this.#client.send(
        new EncryptCommand({ KeyId: this.#arn, Plaintext: key, EncryptionContext: encryptionContext(header, aad) }),
      ),
    );
    if (out.CiphertextBlob === undefined) throw kmsFailure(new Error('empty'), 'Encrypt', this.#arn);
    return Buffer.concat([header, out.CiphertextBlob]);
  }

  async unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    this.#live();
    checkWrapInput(null, aad);
    const blob = parseRootBlob(wrapped, 'aws-kms');
    const out = await this.#send('Decrypt', () =>
      this.#client.send(
        new DecryptCommand({
          KeyId: this.#arn,
          CiphertextBlob: blob.payload,
          EncryptionContext: encryptionContext(blob.header, aad),
        }),
      ),
    );
    if (out.Plaintext === undefined) throw kmsFailure(new Error('empty'), 'Decrypt', this.#arn);
    return Buffer.from(out.Plaintext);
  }

  async generateWrappedKey(aad: Buffer): Promise<GeneratedKey> {
    this.#live();
    checkWrapInput(null, aad);
    const header = rootBlobHeader('aws-kms', this.#version);
    const out = await this.#send('GenerateDataKey', () =>
      this.#client.send(
        new GenerateDataKeyCommand({
          KeyId: this.#arn,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContext(header, aad),
        }),
      ),
    );
    if (out.Plaintext === undefined || out.CiphertextBlob === undefined) {
      throw kmsFailure(new Error('empty'), 'GenerateDataKey', this.#arn);
    }
    return { key: Buffer.from(out.Plaintext), wrapped: Buffer.concat([header, out.CiphertextBlob]) };
  }

  describe(): RootKeyDescription {
    return {
      kind: 'aws-kms',
      keyVersion: this.#version,
      versions: Array.from({ length: this.#version }, (_, i) => i + 1),
      details: { keyArn: this.#arn, region: this.#o.region, ...(this.#o.endpoint ? { endpoint: this.#o.endpoint } : {}) },
    };
  }

  /**
   * RotateKeyOnDemand: KMS makes new key material for the same key; older
   * material keeps decrypting. Rotation completes asynchronously in KMS, so
   * the version is bumped locally rather than re-listed.
   */
  async rotate(): Promise<void> {
    this.#live();
    await this.#send('RotateKeyOnDemand', () => this.#client.send(new RotateKeyOnDemandCommand({ KeyId: this.#arn })));
    this.#version += 1;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }
}

async function countRotations(client: KMSClient, arn: string): Promise<number> {
  let count = 0;
  let marker: string | undefined;
  for (let page = 0; page < 100; page++) {
    const out = await client.send(new ListKeyRotationsCommand({ KeyId: arn, Limit: 1000, Marker: marker }));
    count += out.Rotations?.length ?? 0;
    if (out.Truncated !== true || out.NextMarker === undefined) return count;
    marker = out.NextMarker;
  }
  return count;
}

/**
 * Opens the provider: DescribeKey (must be an enabled SYMMETRIC_DEFAULT
 * ENCRYPT_DECRYPT key) and ListKeyRotations (current version). Errors:
 * KEY_KMS_KEY_UNAVAILABLE, KEY_KMS_ACCESS_DENIED, KEY_KMS_UNAVAILABLE (503),
 * KEY_PROVIDER_CONFIG for missing options.
 */
export async function openAwsKmsProvider(o: AwsKmsProviderOptions): Promise<RootKeyProvider> {
  if (!o.keyId || !o.region) {
    throw cryptoError(KeyErrorCode.PROVIDER_CONFIG, 'AWS KMS provider needs keyId and region');
  }
  const client = new KMSClient({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
  });
  try {
    const meta = (await client.send(new DescribeKeyCommand({ KeyId: o.keyId }))).KeyMetadata;
    if (meta?.Arn === undefined || meta.Enabled !== true || meta.KeySpec !== 'SYMMETRIC_DEFAULT' || meta.KeyUsage !== 'ENCRYPT_DECRYPT') {
      throw cryptoError(
        KeyErrorCode.KMS_KEY_UNAVAILABLE,
        `KMS key ${o.keyId} must be an enabled SYMMETRIC_DEFAULT key for ENCRYPT_DECRYPT`,
      );
    }
    const version = 1 + (await countRotations(client, meta.Arn));
    return new AwsKmsProvider(client, o, meta.Arn, version);
  } catch (e) {
    client.destroy();
    if (isCustosError(e)) throw e;
    throw kmsFailure(e, 'open', o.keyId);
  }
}
