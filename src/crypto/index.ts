// Public API of the crypto layer. Other modules import from here only.
export { cryptoError, CryptoErrorCode, KeyErrorCode } from './errors.js';
export {
  encodeContext,
  encodeParts,
  MAX_CONTEXT_FIELD_BYTES,
  RESERVED_KEY_PURPOSE_PREFIX,
  type EncryptionContext,
} from './context.js';
export {
  DEFAULT_USAGE_LIMIT,
  ENVELOPE_HEADER_LEN,
  ENVELOPE_MIN_LEN,
  ENVELOPE_V1,
  envelopeKeyId,
  open,
  PreparedKey,
  prepareKey,
  seal,
  type PrepareKeyOptions,
} from './envelope.js';
export {
  BLIND_INDEX_BYTES,
  blindIndex,
  constantTimeEqual,
  deriveIndexKey,
  hkdfSha256,
  hmacSha256,
  timingSafeEqualStr,
} from './kdf.js';
export { unwrapKey, wrapKey, type KeyWrapContext } from './wrap.js';
export {
  createLocalKeyring,
  createRootKeyProvider,
  DEFAULT_SCRYPT_PARAMS,
  openLocalKeyring,
  openRootKeyProvider,
  wrappedKeyInfo,
  type AwsKmsProviderOptions,
  type GeneratedKey,
  type LocalKeyringOptions,
  type Pkcs11ProviderOptions,
  type RootKeyDescription,
  type RootKeyProvider,
  type RootKeyProviderConfig,
  type RootKeyProviderKind,
  type ScryptParams,
  type WrappedKeyInfo,
} from './providers/index.js';
