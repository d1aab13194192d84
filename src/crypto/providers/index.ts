import type { AwsKmsProviderOptions } from './aws-kms.js';
import { createLocalKeyring, openLocalKeyring, type LocalKeyringOptions } from './local.js';
import type { Pkcs11ProviderOptions } from './pkcs11.js';
import type { RootKeyProvider } from './types.js';

export { wrappedKeyInfo, type WrappedKeyInfo } from './blob.js';
export { createLocalKeyring, DEFAULT_SCRYPT_PARAMS, openLocalKeyring } from './local.js';
export type { LocalKeyringOptions, ScryptParams } from './local.js';
export type { AwsKmsProviderOptions } from './aws-kms.js';
export type { Pkcs11ProviderOptions } from './pkcs11.js';
export type { GeneratedKey, RootKeyDescription, RootKeyProvider, RootKeyProviderKind } from './types.js';

/** Which provider to use and its options (the `keys.root` part of the config). */
export type RootKeyProviderConfig =
  | ({ kind: 'local' } & LocalKeyringOptions)
  | ({ kind: 'pkcs11' } & Pkcs11ProviderOptions)
  | ({ kind: 'aws-kms' } & AwsKmsProviderOptions);

// pkcs11js (native) and the AWS SDK load only when their provider is chosen.

/**
 * Opens the configured root key provider (existing keyring / HSM keys / KMS
 * key). Errors are the provider's coded KEY_* errors; nothing is created.
 */
export async function openRootKeyProvider(cfg: RootKeyProviderConfig): Promise<RootKeyProvider> {
  switch (cfg.kind) {
    case 'local':
      return openLocalKeyring(cfg);
    case 'pkcs11':
      return (await import('./pkcs11.js')).openPkcs11Provider(cfg);
    case 'aws-kms':
      return (await import('./aws-kms.js')).openAwsKmsProvider(cfg);
  }
}

/**
 * Creates root key version 1 for `custos init`: a new local keyring, or
 * `<prefix>-v1` in the HSM token. Refuses to overwrite (KEY_KEYRING_EXISTS,
 * KEY_HSM_KEY_EXISTS). AWS KMS keys are created by the operator in AWS, so
 * for `aws-kms` this only opens (and thereby checks) the configured key.
 */
export async function createRootKeyProvider(cfg: RootKeyProviderConfig): Promise<RootKeyProvider> {
  switch (cfg.kind) {
    case 'local':
      return createLocalKeyring(cfg);
    case 'pkcs11':
      return (await import('./pkcs11.js')).createPkcs11Root(cfg);
    case 'aws-kms':
      return (await import('./aws-kms.js')).openAwsKmsProvider(cfg);
  }
}
