// Public API of the key hierarchy (src/keys/README.md). Other modules import from here only.
export { createKeyring, KeyringCore } from './keyring.js';
export type { Keyring, KeyringDeps, RootKeySource } from './keyring-api.js';
export { createKeyAdmin, type KeyAdmin } from './admin.js';
export { registerKeyRoutes } from './routes.js';
export { ensureRootKey, keyringDir, openExistingRootKey, PASSPHRASE_ENV, rootKeyConfig, type RootKeyOptions } from './root.js';
export { keyErrors } from './errors.js';
export { RETIRE_GRACE_MS, type RetireResult } from './retire.js';
export type { RewrapOptions, RewrapResult } from './rewrap.js';
export type { KeysCliContext } from './cli.js';
export {
  PLATFORM,
  type AuditSigner,
  type KeyStatus,
  type LedgerEntry,
  type RewrapProgress,
  type SealTarget,
} from './types.js';
