import { createError, type CustosError } from '../shared/errors.js';

/**
 * Error codes of the key hierarchy (src/keys). Messages name key ids,
 * versions and tenants, never key material.
 */
export const keyErrors = {
  /** The key under this data was crypto-shredded: the data is gone for good (410, never garbage). */
  destroyed: (what: string): CustosError =>
    createError('KEY_DESTROYED', `${what}: its key was destroyed (crypto-shredded); the data is permanently unreadable`, 410),
  /** An envelope names a key version below its series' minimum decryption version. */
  retired: (what: string): CustosError => createError('KEY_VERSION_RETIRED', `${what} is retired and decrypts nothing`, 500),
  /** An envelope names a key id the key store does not hold. */
  notFound: (keyId: string): CustosError => createError('KEY_NOT_FOUND', `key ${keyId} is not in the key store`, 500),
  /** An envelope's key belongs to another owner or purpose than the context it is opened in. */
  misused: (keyId: string, why: string): CustosError => createError('KEY_MISUSED', `key ${keyId} ${why}`, 500),
  scopeMismatch: (): CustosError =>
    createError('KEY_DESTROY_SCOPE_INVALID', 'scope "subject" needs a subjectId; scope "tenant" takes none', 400),
  reasonRequired: (): CustosError =>
    createError('KEY_DESTROY_REASON_REQUIRED', 'destroying a key needs a reason (1 to 500 characters), e.g. the erasure request reference', 400),
  alreadyDestroyed: (what: string): CustosError => createError('KEY_ALREADY_DESTROYED', `the keys of ${what} were already destroyed`, 409),
  rewrapRunning: (scope: string): CustosError =>
    createError('KEY_REWRAP_RUNNING', `a rewrap job for ${scope} is still running; finish it with \`custos keys rewrap\` first`, 409),
  rotateConflict: (what: string): CustosError =>
    createError('KEY_ROTATE_CONFLICT', `${what} was rotated concurrently; try again`, 409),
  /** The key store holds wrapped keys but no root key was found: refusing to create a new one that could open none of them. */
  orphanedKeyStore: (where: string): CustosError =>
    createError(
      'KEY_STORE_WITHOUT_ROOT',
      `the key store holds keys wrapped by a root key, but no root key is at ${where}; restore the keyring (creating a new one would orphan every key)`,
      500,
    ),
  noRoot: (): CustosError => createError('KEY_KEYRING_MISSING', 'there is no root key yet: run `custos init` first', 500),
  noTerminal: (): CustosError =>
    createError('KEY_PASSPHRASE_REQUIRED', 'the keyring is sealed under a passphrase: set CUSTOS_MASTER_PASSPHRASE or run on a terminal', 500),
  passphraseMismatch: (): CustosError => createError('KEY_PASSPHRASE_MISMATCH', 'the two passphrases differ; nothing was created', 400),
};
