import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { cryptoError, KeyErrorCode } from '../errors.js';
import { checkWrapInput, parseRootBlob, rootBlobHeader } from './blob.js';
import { HsmSession, hsmFailure, type HsmContext, type Pkcs11Api } from './pkcs11-session.js';
import { readProtectedFile } from './secret-file.js';
import type { GeneratedKey, RootKeyDescription, RootKeyProvider } from './types.js';

/** Debian's SoftHSM2 module. */
export const SOFTHSM2_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

/** Options of the PKCS#11 root key provider. Give exactly one PIN source. */
export interface Pkcs11ProviderOptions {
  /** PKCS#11 module path (default SoftHSM2's). */
  library?: string;
  /** Label of the token holding the root keys. */
  tokenLabel: string;
  /** User PIN as a value (e.g. from parsed config). */
  pin?: string;
  /** Name of an environment variable holding the PIN. */
  pinEnv?: string;
  /** Path of a 0600 file holding the PIN (one line). */
  pinFile?: string;
  /** Root key labels are `<prefix>-v<N>` (default "custos-root"). */
  keyLabelPrefix?: string;
  /** @internal tests: wrap the module (e.g. to count C_Login). */
  loadModule?: (library: string) => Pkcs11Api;
  /** @internal tests: simulate a fork. */
  processId?: () => number;
}

const IV_LEN = 12;
// How tokens report a GCM tag mismatch: SoftHSM2 says CKR_GENERAL_ERROR,
// others CKR_ENCRYPTED_DATA_INVALID or _LEN_RANGE.
const AUTH_FAILURES: ReadonlySet<unknown> = new Set([
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_ENCRYPTED_DATA_INVALID,
  pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE,
]);
const TAG_LEN = 16;

async function resolvePin(o: Pkcs11ProviderOptions): Promise<string> {
  const given = [o.pin, o.pinEnv, o.pinFile].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw cryptoError(KeyErrorCode.PROVIDER_CONFIG, 'give exactly one of pin, pinEnv, pinFile for the PKCS#11 provider');
  }
  let pin = o.pin;
  if (o.pinEnv !== undefined) pin = process.env[o.pinEnv];
  if (o.pinFile !== undefined) {
    const content = await readProtectedFile(o.pinFile, 'PIN file');
    if (content === null) throw cryptoError(KeyErrorCode.KEYFILE_MISSING, `PIN file ${o.pinFile} not found`);
    pin = content.toString('utf8').replace(/\r?\n$/, '');
  }
  if (pin === undefined || pin.length === 0) {
    const where = o.pinEnv !== undefined ? `environment variable ${o.pinEnv}` : 'PIN source';
    throw cryptoError(KeyErrorCode.PROVIDER_CONFIG, `HSM PIN is empty or unset (${where})`);
  }
  return pin;
}

function bool(v: Buffer | undefined): boolean {
  return v !== undefined && v.length > 0 && v[0] !== 0;
}

/** Root key handles by version, as found on the token. */
type KeyMap = Map<number, Buffer>;

function listRootKeys(ctx: HsmContext, prefix: string, token: string): KeyMap {
  const { api, session } = ctx;
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-v([1-9][0-9]{0,8})$`);
  const found: KeyMap = new Map();
  api.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
  ]);
  let handles: Buffer[];
  try {
    handles = api.C_FindObjects(session, 1000);
  } finally {
    api.C_FindObjectsFinal(session);
  }
  for (const h of handles) {
    const [label, sensitive, extractable] = api.C_GetAttributeValue(session, h, [
      { type: pkcs11js.CKA_LABEL },
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_EXTRACTABLE },
    ]);
    const m = re.exec((label?.value as Buffer | undefined)?.toString('utf8') ?? '');
    if (m === null) continue;
    const version = Number(m[1]);
    if (found.has(version)) {
      throw cryptoError(KeyErrorCode.HSM_KEY_UNSAFE, `token "${token}" holds two keys labelled ${prefix}-v${version}`);
    }
    if (!bool(sensitive?.value as Buffer) || bool(extractable?.value as Buffer)) {
      throw cryptoError(
        KeyErrorCode.HSM_KEY_UNSAFE,
        `root key ${prefix}-v${version} on token "${token}" is extractable or not sensitive; refusing to use it`,
      );
    }
    found.set(version, h);
  }
  return found;
}

function generateRootKey(ctx: HsmContext, label: string): Buffer {
  const t = pkcs11js;
  return ctx.api.C_GenerateKey(ctx.session, { mechanism: t.CKM_AES_KEY_GEN }, [
    { type: t.CKA_CLASS, value: t.CKO_SECRET_KEY },
    { type: t.CKA_KEY_TYPE, value: t.CKK_AES },
    { type: t.CKA_VALUE_LEN, value: 32 },
    { type: t.CKA_LABEL, value: label },
    { type: t.CKA_ID, value: Buffer.from(label) },
    { type: t.CKA_TOKEN, value: true },
    { type: t.CKA_PRIVATE, value: true },
    { type: t.CKA_SENSITIVE, value: true },
    { type: t.CKA_EXTRACTABLE, value: false },
    { type: t.CKA_MODIFIABLE, value: false },
    { type: t.CKA_COPYABLE, value: false },
    { type: t.CKA_ENCRYPT, value: true },
    { type: t.CKA_DECRYPT, value: true },
    { type: t.CKA_WRAP, value: false },
    { type: t.CKA_UNWRAP, value: false },
    { type: t.CKA_SIGN, value: false },
    { type: t.CKA_VERIFY, value: false },
    { type: t.CKA_DERIVE, value: false },
  ]);
}

function gcm(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
  const parameter: pkcs11js.AesGCM = { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad, ivBits: IV_LEN * 8, tagBits: TAG_LEN * 8 };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}

/** The `pkcs11` provider: root keys live in the HSM; GCM runs inside it. */
class Pkcs11Provider implements RootKeyProvider {
  readonly kind = 'pkcs11' as const;
  readonly #hsm: HsmSession;
  readonly #token: string;
  readonly #prefix: string;
  readonly #library: string;
  #keys: KeyMap = new Map();
  #generation = -1;
  #current = 0;

  constructor(hsm: HsmSession, o: Pkcs11ProviderOptions) {
    this.#hsm = hsm;
    this.#token = o.tokenLabel;
    this.#prefix = o.keyLabelPrefix ?? 'custos-root';
    this.#library = o.library ?? SOFTHSM2_LIBRARY;
  }

  /** (Re)reads the root keys when the session is new; returns the handle for `version` if any. */
  #handle(ctx: HsmContext, version: number, rescan = false): Buffer | undefined {
    if (rescan || ctx.generation !== this.#generation || !this.#keys.has(version)) {
      this.#keys = this.#step(() => listRootKeys(ctx, this.#prefix, this.#token), 'key lookup');
      this.#generation = ctx.generation;
      this.#current = Math.max(this.#current, ...this.#keys.keys());
    }
    return this.#keys.get(version);
  }

  #step<T>(fn: () => T, step: string): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof Error && 'code' in e && typeof e.code === 'string') throw e;
      throw hsmFailure(e, step, this.#token);
    }
  }

  /** @internal loads the key list; `expectEmpty` for creation. */
  async init(expectEmpty: boolean): Promise<void> {
    await this.#hsm.run((ctx) => {
      this.#handle(ctx, 0, true);
      if (expectEmpty && this.#keys.size > 0) {
        throw cryptoError(KeyErrorCode.HSM_KEY_EXISTS, `token "${this.#token}" already holds ${this.#prefix}-v* root keys`);
      }
      if (!expectEmpty && this.#keys.size === 0) {
        throw cryptoError(KeyErrorCode.HSM_KEY_MISSING, `token "${this.#token}" holds no ${this.#prefix}-v* root key`);
      }
    });
  }

  wrap(key: Buffer, aad: Buffer): Promise<Buffer> {
    checkWrapInput(key, aad);
    return this.#hsm.run((ctx) => {
      const version = this.#current;
      const handle = this.#handle(ctx, version);
      if (handle === undefined) throw this.#unknown(version);
      const header = rootBlobHeader('pkcs11', version);
      const iv = randomBytes(IV_LEN);
      const ct = this.#step(() => {
        ctx.api.C_EncryptInit(ctx.session, gcm(iv, Buffer.concat([header, aad])), handle);
        return ctx.api.C_Encrypt(ctx.session, key, Buffer.alloc(key.length + TAG_LEN));
      }, 'encrypt');
      return Buffer.concat([header, iv, ct]);
    });
  }

  unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    checkWrapInput(null, aad);
    const blob = parseRootBlob(wrapped, 'pkcs11');
    if (blob.payload.length <= IV_LEN + TAG_LEN) {
      return Promise.reject(cryptoError(KeyErrorCode.WRAPPED_MALFORMED, 'wrapped key is too short'));
    }
    return this.#hsm.run((ctx) => {
      const handle = this.#handle(ctx, blob.version);
      if (handle === undefined) throw this.#unknown(blob.version);
      const iv = blob.payload.subarray(0, IV_LEN);
      const ct = blob.payload.subarray(IV_LEN);
      try {
        ctx.api.C_DecryptInit(ctx.session, gcm(iv, Buffer.concat([blob.header, aad])), handle);
        return ctx.api.C_Decrypt(ctx.session, ct, Buffer.alloc(ct.length));
      } catch (e) {
        if (!AUTH_FAILURES.has((e as { code?: unknown }).code)) throw hsmFailure(e, 'decrypt', this.#token);
        throw cryptoError(
          KeyErrorCode.UNWRAP_FAILED,
          `unwrap under ${this.#prefix}-v${blob.version} on token "${this.#token}" failed: blob or AAD altered`,
        );
      }
    });
  }

  async generateWrappedKey(aad: Buffer): Promise<GeneratedKey> {
    const key = randomBytes(32);
    return { key, wrapped: await this.wrap(key, aad) };
  }

  #unknown(version: number): Error {
    return cryptoError(
      KeyErrorCode.ROOT_VERSION_UNKNOWN,
      `root key ${this.#prefix}-v${version} is not on token "${this.#token}"`,
    );
  }

  describe(): RootKeyDescription {
    return {
      kind: 'pkcs11',
      keyVersion: this.#current,
      versions: [...this.#keys.keys()].sort((a, b) => a - b),
      details: {
        library: this.#library,
        tokenLabel: this.#token,
        keyLabel: `${this.#prefix}-v${this.#current}`,
        mechanism: 'CKM_AES_GCM',
      },
    };
  }

  /** Generates `<prefix>-v<max+1>` in the token (sensitive, non-extractable) and makes it current. */
  async rotate(): Promise<void> {
    await this.#hsm.run((ctx) => {
      this.#handle(ctx, 0, true);
      const version = Math.max(0, ...this.#keys.keys()) + 1;
      const label = `${this.#prefix}-v${version}`;
      this.#step(() => generateRootKey(ctx, label), 'key generation');
      // Re-read: the listing checks the new key is sensitive and non-extractable.
      if (this.#handle(ctx, version, true) === undefined) throw this.#unknown(version);
      this.#current = version;
    });
  }

  close(): Promise<void> {
    return this.#hsm.close();
  }
}

async function start(o: Pkcs11ProviderOptions, create: boolean): Promise<RootKeyProvider> {
  const pin = await resolvePin(o);
  const hsm = await HsmSession.open({
    library: o.library ?? SOFTHSM2_LIBRARY,
    tokenLabel: o.tokenLabel,
    pin,
    ...(o.loadModule ? { loadModule: o.loadModule } : {}),
    ...(o.processId ? { processId: o.processId } : {}),
  });
  const p = new Pkcs11Provider(hsm, o);
  try {
    await p.init(create);
    if (create) await p.rotate();
  } catch (e) {
    await hsm.close();
    throw e;
  }
  return p;
}

/**
 * Creates root key version 1 (`<prefix>-v1`, AES-256, sensitive,
 * non-extractable) in the token found by label, and returns the provider.
 * Refuses with KEY_HSM_KEY_EXISTS if any root key version exists.
 * Errors: KEY_HSM_TOKEN_MISSING, KEY_HSM_PIN_WRONG (login tried once),
 * KEY_HSM_PIN_LOCKED, KEY_HSM_LIBRARY, KEY_HSM_BUSY, KEY_PROVIDER_CONFIG.
 */
export function createPkcs11Root(o: Pkcs11ProviderOptions): Promise<RootKeyProvider> {
  return start(o, true);
}

/**
 * Opens the provider on a token that holds root keys (highest version is
 * current). Wrap/unwrap run CKM_AES_GCM inside the HSM with AAD = blob
 * header || aad. Same errors as createPkcs11Root, plus KEY_HSM_KEY_MISSING
 * and KEY_HSM_KEY_UNSAFE (a root key that is extractable or not sensitive).
 */
export function openPkcs11Provider(o: Pkcs11ProviderOptions): Promise<RootKeyProvider> {
  return start(o, false);
}
