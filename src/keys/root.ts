import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { createRootKeyProvider, openRootKeyProvider, type RootKeyProvider, type RootKeyProviderConfig } from '../crypto/index.js';
import { isCustosError } from '../shared/errors.js';
import { keyErrors } from './errors.js';
import { readPassphrase } from './prompt.js';

/** The environment variable that holds the passphrase sealing the local keyring. */
export const PASSPHRASE_ENV = 'CUSTOS_MASTER_PASSPHRASE';
/** Default environment variable holding the HSM user PIN. */
export const HSM_PIN_ENV = 'CUSTOS_HSM_PIN';

/** How to open (or, on first start, create) the root key. */
export interface RootKeyOptions {
  /** Where CUSTOS_MASTER_PASSPHRASE is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Ask for a passphrase without echo when the keyring needs one and stdin is a terminal. */
  interactive?: boolean;
  /** On creation: seal the new keyring under a passphrase asked on the terminal (twice). */
  askNewPassphrase?: boolean;
}

/** The keyring directory of the local provider. */
export function keyringDir(config: Config): string {
  return path.resolve(config.keys.local.dir ?? path.join(config.dataDir, 'keyring'));
}

/** Maps the `keys` configuration to a provider configuration; the passphrase comes from the caller, never the config. */
export function rootKeyConfig(config: Config, passphrase?: string): RootKeyProviderConfig {
  const k = config.keys;
  switch (k.provider) {
    case 'local':
      return {
        kind: 'local',
        dir: keyringDir(config),
        ...(k.local.keyFile ? { keyFile: path.resolve(k.local.keyFile) } : {}),
        ...(passphrase ? { passphrase } : {}),
      };
    case 'pkcs11':
      return {
        kind: 'pkcs11',
        tokenLabel: k.pkcs11.tokenLabel as string,
        ...(k.pkcs11.library ? { library: k.pkcs11.library } : {}),
        ...(k.pkcs11.keyLabelPrefix ? { keyLabelPrefix: k.pkcs11.keyLabelPrefix } : {}),
        ...(k.pkcs11.pinFile ? { pinFile: k.pkcs11.pinFile } : { pinEnv: k.pkcs11.pinEnv ?? HSM_PIN_ENV }),
      };
    case 'aws-kms':
      return {
        kind: 'aws-kms',
        keyId: k.awsKms.keyId as string,
        region: k.awsKms.region as string,
        ...(k.awsKms.endpoint ? { endpoint: k.awsKms.endpoint } : {}),
      };
  }
}

function codeOf(e: unknown): string | undefined {
  return isCustosError(e) ? e.code : undefined;
}

function passphraseFor(opts: RootKeyOptions): string | undefined {
  const env = opts.env ?? process.env;
  const given = env[PASSPHRASE_ENV];
  return given !== undefined && given !== '' ? given : undefined;
}

/**
 * Opens the existing root key, or returns undefined when there is none yet
 * (no local keyring file; no root key in the HSM token). Read-only: a wrong
 * passphrase, missing key file or wrong PIN throws its coded error and
 * changes nothing. Asks for the passphrase on a terminal when allowed.
 */
export async function openExistingRootKey(config: Config, opts: RootKeyOptions = {}): Promise<RootKeyProvider | undefined> {
  if (config.keys.provider === 'local' && !existsSync(path.join(keyringDir(config), 'root.json'))) return undefined;
  const passphrase = passphraseFor(opts);
  try {
    return await openRootKeyProvider(rootKeyConfig(config, passphrase));
  } catch (e) {
    const code = codeOf(e);
    if (code === 'KEY_HSM_KEY_MISSING') return undefined;
    if (code === 'KEY_PASSPHRASE_REQUIRED' && passphrase === undefined) {
      if (!opts.interactive || !process.stdin.isTTY) throw keyErrors.noTerminal();
      const asked = await readPassphrase('Passphrase of the Custos keyring: ');
      return openRootKeyProvider(rootKeyConfig(config, asked));
    }
    throw e;
  }
}

/**
 * Opens the root key, creating it when none exists: a local keyring sealed
 * under CUSTOS_MASTER_PASSPHRASE (or a passphrase asked twice on the
 * terminal), else a 0600 key file; or root key v1 in the HSM token. Refuses
 * to create one when `hasWrappedKeys()` says the key store already holds keys
 * wrapped by a (lost) root key.
 */
export async function ensureRootKey(
  config: Config,
  hasWrappedKeys: () => Promise<boolean>,
  opts: RootKeyOptions = {},
): Promise<RootKeyProvider> {
  const existing = await openExistingRootKey(config, opts);
  if (existing) return existing;
  if (await hasWrappedKeys()) {
    throw keyErrors.orphanedKeyStore(config.keys.provider === 'local' ? keyringDir(config) : `the ${config.keys.provider} provider`);
  }
  let passphrase = passphraseFor(opts);
  if (passphrase === undefined && opts.askNewPassphrase) {
    if (!process.stdin.isTTY) throw keyErrors.noTerminal();
    passphrase = await readPassphrase('New passphrase for the Custos keyring (at least 12 characters): ');
    if ((await readPassphrase('Repeat it: ')) !== passphrase) throw keyErrors.passphraseMismatch();
  }
  return createRootKeyProvider(rootKeyConfig(config, passphrase));
}
