import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { isCustosError } from '../shared/errors.js';
import { keyringDir, rootKeyConfig } from './root.js';

const load = (env: Record<string, string>, overrides: Record<string, unknown> = {}) => loadConfig({ env: { CUSTOS_DATA_DIR: '/srv/custos', ...env }, overrides });

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isCustosError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a config error');
}

describe('keys configuration → root key provider', () => {
  it('local by default: keyring in <dataDir>/keyring, key file unless a passphrase is given (never from the config)', () => {
    const c = load({});
    expect(c.keys).toMatchObject({ provider: 'local', cache: { maxEntries: 10_000, ttlSeconds: 300 } });
    expect(keyringDir(c)).toBe('/srv/custos/keyring');
    expect(rootKeyConfig(c)).toEqual({ kind: 'local', dir: '/srv/custos/keyring' });
    expect(rootKeyConfig(c, 'a passphrase long enough')).toMatchObject({ passphrase: 'a passphrase long enough' });
    const custom = load({ CUSTOS_KEYRING_DIR: '/keys', CUSTOS_KEY_FILE: 'rk.key' });
    expect(rootKeyConfig(custom)).toEqual({ kind: 'local', dir: '/keys', keyFile: path.resolve('rk.key') });
  });

  it('pkcs11 from the environment: token by label, the PIN from CUSTOS_HSM_PIN (or a file), never in the config', () => {
    const c = load({ CUSTOS_KEY_PROVIDER: 'pkcs11', CUSTOS_HSM_TOKEN_LABEL: 'custos', CUSTOS_HSM_LIBRARY: '/usr/lib/x.so' });
    expect(rootKeyConfig(c)).toEqual({ kind: 'pkcs11', tokenLabel: 'custos', library: '/usr/lib/x.so', pinEnv: 'CUSTOS_HSM_PIN' });
    const f = load({ CUSTOS_KEY_PROVIDER: 'pkcs11', CUSTOS_HSM_TOKEN_LABEL: 'custos', CUSTOS_HSM_PIN_FILE: '/run/pin' });
    expect(rootKeyConfig(f)).toMatchObject({ pinFile: '/run/pin' });
    expect(configError(() => load({ CUSTOS_KEY_PROVIDER: 'pkcs11' }))).toMatch(/keys\.pkcs11\.tokenLabel: provider pkcs11 needs/);
    expect(configError(() => load({}, { keys: { pkcs11: { pinEnv: 'A', pinFile: '/x' } } }))).toMatch(/pinEnv or pinFile, not both/);
    expect(configError(() => load({}, { keys: { pkcs11: { pin: '1234' } } }))).toMatch(/pin.*unknown key/);
  });

  it('aws-kms needs a key and a region; the cache bound and TTL are checked', () => {
    const c = load({ CUSTOS_KEY_PROVIDER: 'aws-kms', CUSTOS_KMS_KEY_ID: 'alias/custos-root', CUSTOS_KMS_REGION: 'eu-central-1', CUSTOS_KMS_ENDPOINT: 'https://kms.example' });
    expect(rootKeyConfig(c)).toEqual({ kind: 'aws-kms', keyId: 'alias/custos-root', region: 'eu-central-1', endpoint: 'https://kms.example' });
    expect(configError(() => load({ CUSTOS_KEY_PROVIDER: 'aws-kms', CUSTOS_KMS_KEY_ID: 'k' }))).toMatch(/keys\.awsKms: provider aws-kms needs/);
    expect(configError(() => load({ CUSTOS_KEY_PROVIDER: 'vault' }))).toMatch(/keys\.provider/);
    expect(configError(() => load({ CUSTOS_KEY_CACHE_MAX_ENTRIES: '0' }))).toMatch(/keys\.cache\.maxEntries/);
    expect(configError(() => load({ CUSTOS_KEY_CACHE_TTL_SECONDS: 'soon' }))).toMatch(/keys\.cache\.ttlSeconds: must be an integer/);
  });
});
