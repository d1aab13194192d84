import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gcmOpen, gcmSeal } from '../aead.js';
import { cryptoError, KeyErrorCode } from '../errors.js';
import { checkWrapInput, parseRootBlob, rootBlobHeader } from './blob.js';
import {
  checkScryptParams,
  decodeKeyFile,
  DEFAULT_SCRYPT_PARAMS,
  deriveKek,
  encodeKeyFile,
  KEYRING_FORMAT,
  kekCheck,
  kekMatches,
  newPassphraseProtection,
  parseKeyringFile,
  sealVersion,
  unsealVersion,
  type KeyringFile,
  type ScryptParams,
} from './local-format.js';
import { exists, readProtectedFile, writeFileExclusive, writeFileReplace } from './secret-file.js';
import type { GeneratedKey, RootKeyDescription, RootKeyProvider } from './types.js';

export { DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './local-format.js';

/** Options of the local root key provider. */
export interface LocalKeyringOptions {
  /** Keyring directory, e.g. `<dataDir>/keyring`; holds `root.json`. */
  dir: string;
  /** Seal root keys under scrypt(passphrase). Without it, a 0600 key file is used. */
  passphrase?: string;
  /** Key file path (default `<dir>/root.key`); ignored with a passphrase. */
  keyFile?: string;
  /** scrypt cost at creation (default N=2^17, r=8, p=1); stored in the file. */
  scrypt?: ScryptParams;
  /** Clock for version timestamps (tests). */
  now?: () => Date;
}

const MIN_PASSPHRASE = 12;

function paths(o: LocalKeyringOptions): { file: string; keyFile: string } {
  return { file: join(o.dir, 'root.json'), keyFile: o.keyFile ?? join(o.dir, 'root.key') };
}

async function readKeyring(file: string): Promise<KeyringFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw cryptoError(KeyErrorCode.KEYRING_MISSING, `no keyring at ${file}; run \`custos init\` to create one`);
    }
    throw e;
  }
  return parseKeyringFile(text, file);
}

async function kekFor(o: LocalKeyringOptions, kf: KeyringFile): Promise<Buffer> {
  const { file, keyFile } = paths(o);
  if (kf.protection.type === 'passphrase') {
    if (typeof o.passphrase !== 'string' || o.passphrase.length === 0) {
      throw cryptoError(KeyErrorCode.PASSPHRASE_REQUIRED, `keyring ${file} is sealed under a passphrase; none given`);
    }
    const kek = await deriveKek(o.passphrase, Buffer.from(kf.protection.salt, 'base64'), kf.protection);
    if (!kekMatches(kek, kf)) {
      throw cryptoError(KeyErrorCode.PASSPHRASE_WRONG, `wrong passphrase for keyring ${file}`);
    }
    return kek;
  }
  if (o.passphrase !== undefined) {
    throw cryptoError(KeyErrorCode.PROVIDER_CONFIG, `keyring ${file} is sealed with a key file, not a passphrase`);
  }
  const content = await readProtectedFile(keyFile, 'key file');
  if (content === null) throw cryptoError(KeyErrorCode.KEYFILE_MISSING, `key file ${keyFile} not found`);
  const kek = decodeKeyFile(content, keyFile);
  if (!kekMatches(kek, kf)) {
    throw cryptoError(KeyErrorCode.KEYFILE_WRONG, `key file ${keyFile} does not belong to keyring ${file}`);
  }
  return kek;
}

/**
 * Creates a new keyring in `dir` with root key version 1 (random 256 bits),
 * sealed under scrypt(passphrase) or a new random key file written 0600.
 * Refuses (KEY_KEYRING_EXISTS) if root.json or the key file exists; writes
 * are atomic (temp, fsync, link). Returns the open provider.
 */
export async function createLocalKeyring(o: LocalKeyringOptions): Promise<RootKeyProvider> {
  const { file, keyFile } = paths(o);
  const s = o.scrypt ?? DEFAULT_SCRYPT_PARAMS;
  if (o.passphrase !== undefined && o.passphrase.length < MIN_PASSPHRASE) {
    throw cryptoError(KeyErrorCode.PROVIDER_CONFIG, `passphrase must be at least ${MIN_PASSPHRASE} characters`);
  }
  if (!checkScryptParams(s)) throw cryptoError(KeyErrorCode.PROVIDER_CONFIG, 'scrypt parameters out of range');
  if (await exists(file)) throw cryptoError(KeyErrorCode.KEYRING_EXISTS, `a keyring already exists at ${file}`);
  const usesKeyFile = o.passphrase === undefined;
  if (usesKeyFile && (await exists(keyFile))) {
    throw cryptoError(KeyErrorCode.KEYRING_EXISTS, `key file ${keyFile} already exists; refusing to overwrite it`);
  }
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const protection = usesKeyFile ? ({ type: 'keyfile' } as const) : newPassphraseProtection(s);
  const kek = usesKeyFile
    ? randomBytes(32)
    : await deriveKek(o.passphrase!, Buffer.from((protection as { salt: string }).salt, 'base64'), s);
  const root = randomBytes(32);
  const now = (o.now ?? (() => new Date()))();
  const kf: KeyringFile = {
    format: KEYRING_FORMAT,
    protection,
    check: kekCheck(kek),
    current: 1,
    versions: [sealVersion(kek, 1, root, now)],
  };
  if (usesKeyFile && !(await writeFileExclusive(keyFile, encodeKeyFile(kek)))) {
    throw cryptoError(KeyErrorCode.KEYRING_EXISTS, `key file ${keyFile} already exists; refusing to overwrite it`);
  }
  await writeKeyringOrUndo(file, kf, usesKeyFile ? keyFile : null);
  return new LocalKeyring(o, kek, kf, new Map([[1, root]]));
}

async function writeKeyringOrUndo(file: string, kf: KeyringFile, createdKeyFile: string | null): Promise<void> {
  let ok = false;
  try {
    ok = await writeFileExclusive(file, `${JSON.stringify(kf, null, 2)}\n`);
  } finally {
    if (!ok && createdKeyFile !== null) await unlink(createdKeyFile).catch(() => undefined);
  }
  if (!ok) throw cryptoError(KeyErrorCode.KEYRING_EXISTS, `a keyring already exists at ${file}`);
}

/**
 * Opens the keyring in `dir` and unseals every root key version. Read-only:
 * errors (KEY_KEYRING_MISSING, KEY_PASSPHRASE_WRONG, KEY_KEYFILE_MISSING,
 * KEY_KEYFILE_PERMISSIONS, KEY_KEYFILE_WRONG, KEY_KEYRING_CORRUPT) leave the
 * disk untouched.
 */
export async function openLocalKeyring(o: LocalKeyringOptions): Promise<RootKeyProvider> {
  const kf = await readKeyring(paths(o).file);
  const kek = await kekFor(o, kf);
  const keys = new Map(kf.versions.map((v) => [v.version, unsealVersion(kek, v, paths(o).file)] as const));
  return new LocalKeyring(o, kek, kf, keys);
}

/** The `local` provider: root keys in memory, unsealed from root.json. */
class LocalKeyring implements RootKeyProvider {
  readonly kind = 'local' as const;
  readonly #opts: LocalKeyringOptions;
  #kek: Buffer;
  #file: KeyringFile;
  #keys: Map<number, Buffer>;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: LocalKeyringOptions, kek: Buffer, file: KeyringFile, keys: Map<number, Buffer>) {
    this.#opts = o;
    this.#kek = kek;
    this.#file = file;
    this.#keys = keys;
  }

  #live(): void {
    if (this.#closed) throw cryptoError(KeyErrorCode.PROVIDER_CLOSED, 'local root key provider is closed');
  }

  /** Runs `fn` after every earlier rotate/reload: one writer at a time. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async wrap(key: Buffer, aad: Buffer): Promise<Buffer> {
    this.#live();
    checkWrapInput(key, aad);
    const version = this.#file.current;
    const header = rootBlobHeader('local', version);
    return Buffer.concat([header, gcmSeal(this.#keys.get(version)!, key, [header, aad])]);
  }

  async unwrap(wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    this.#live();
    checkWrapInput(null, aad);
    const blob = parseRootBlob(wrapped, 'local');
    const root = this.#keys.get(blob.version) ?? (await this.#reload(blob.version));
    const key = gcmOpen(root, blob.payload, [blob.header, aad]);
    if (key === null) {
      throw cryptoError(KeyErrorCode.UNWRAP_FAILED, `unwrap under local root version ${blob.version} failed: blob or AAD altered`);
    }
    return key;
  }

  async generateWrappedKey(aad: Buffer): Promise<GeneratedKey> {
    const key = randomBytes(32);
    return { key, wrapped: await this.wrap(key, aad) };
  }

  /** Another process may have rotated: re-read root.json for a version we do not know. */
  #reload(version: number): Promise<Buffer> {
    return this.#serial(async () => {
      this.#live();
      const known = this.#keys.get(version);
      if (known !== undefined) return known;
      const { file } = paths(this.#opts);
      const kf = await readKeyring(file);
      const v = kf.versions.find((x) => x.version === version);
      if (v === undefined || !kekMatches(this.#kek, kf)) {
        throw cryptoError(KeyErrorCode.ROOT_VERSION_UNKNOWN, `local root key version ${version} is not in ${file}`);
      }
      const key = unsealVersion(this.#kek, v, file);
      this.#keys.set(version, key);
      return key;
    });
  }

  describe(): RootKeyDescription {
    const { file, keyFile } = paths(this.#opts);
    const protection = this.#file.protection.type;
    return {
      kind: 'local',
      keyVersion: this.#file.current,
      versions: [...this.#keys.keys()].sort((a, b) => a - b),
      details: { path: file, protection, ...(protection === 'keyfile' ? { keyFile } : {}) },
    };
  }

  rotate(): Promise<void> {
    return this.#serial(async () => {
      this.#live();
      const { file } = paths(this.#opts);
      const onDisk = await readKeyring(file);
      if (onDisk.current !== this.#file.current || onDisk.versions.length !== this.#file.versions.length) {
        throw cryptoError(KeyErrorCode.KEYRING_CHANGED, `keyring ${file} was changed by another process; reopen it`);
      }
      const version = Math.max(...onDisk.versions.map((v) => v.version)) + 1;
      const root = randomBytes(32);
      const sealed = sealVersion(this.#kek, version, root, (this.#opts.now ?? (() => new Date()))());
      const next: KeyringFile = { ...onDisk, current: version, versions: [...onDisk.versions, sealed] };
      await writeFileReplace(file, `${JSON.stringify(next, null, 2)}\n`);
      this.#file = next;
      this.#keys.set(version, root);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const k of this.#keys.values()) k.fill(0);
    this.#keys.clear();
    this.#kek.fill(0);
  }
}
