import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCustosError } from '../../shared/errors.js';
import { wrappedKeyInfo } from './blob.js';
import { createLocalKeyring, openLocalKeyring } from './local.js';

// Cheap scrypt so the suite stays fast; the default (N=2^17) is tested once below.
const FAST = { N: 2 ** 10, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isCustosError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a coded error');
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir)) {
    const st = await stat(join(dir, name));
    out[name] = `${st.mode.toString(8)}:${st.mtimeMs}:${(await readFile(join(dir, name))).toString('hex')}`;
  }
  return out;
}

let base: string;
let dir: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'custos-keyring-'));
  dir = join(base, 'keyring');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('local keyring, passphrase-sealed', () => {
  it('wraps and unwraps, rotates, and after reopening unwraps old and new versions', async () => {
    const aad = Buffer.from('tenant-kek|t-1|v1');
    const k1 = randomBytes(32);
    const p = await createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST });
    const w1 = await p.wrap(k1, aad);
    expect(wrappedKeyInfo(w1)).toEqual({ kind: 'local', version: 1 });
    expect((await p.unwrap(w1, aad)).equals(k1)).toBe(true);
    await p.rotate();
    const k2 = randomBytes(32);
    const w2 = await p.wrap(k2, aad);
    expect(wrappedKeyInfo(w2).version).toBe(2);
    expect(p.describe()).toMatchObject({ kind: 'local', keyVersion: 2, versions: [1, 2] });
    await p.close();
    await expect(p.wrap(k1, aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_CLOSED' });

    const q = await openLocalKeyring({ dir, passphrase: PASS });
    expect((await q.unwrap(w1, aad)).equals(k1)).toBe(true);
    expect((await q.unwrap(w2, aad)).equals(k2)).toBe(true);
    await q.close();
  });

  it('stores the scrypt parameters and only sealed keys in root.json (mode 0600)', async () => {
    const p = await createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST });
    const w = await p.generateWrappedKey(Buffer.from('x'));
    await p.close();
    const text = await readFile(join(dir, 'root.json'), 'utf8');
    const doc = JSON.parse(text) as { protection: Record<string, unknown> };
    expect(doc.protection).toMatchObject({ type: 'passphrase', kdf: 'scrypt', N: 1024, r: 8, p: 1 });
    expect((await stat(join(dir, 'root.json'))).mode & 0o777).toBe(0o600);
    expect(text).not.toContain(PASS);
    expect(text).not.toContain(w.key.toString('base64'));
  });

  it('wrong passphrase is KEY_PASSPHRASE_WRONG and changes nothing on disk', async () => {
    await (await createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST })).close();
    const before = await snapshot(dir);
    expect(await codeOf(openLocalKeyring({ dir, passphrase: 'not the passphrase' }))).toBe('KEY_PASSPHRASE_WRONG');
    expect(await codeOf(openLocalKeyring({ dir }))).toBe('KEY_PASSPHRASE_REQUIRED');
    expect(await snapshot(dir)).toEqual(before);
  });

  it('missing keyring is KEY_KEYRING_MISSING and creates nothing', async () => {
    expect(await codeOf(openLocalKeyring({ dir, passphrase: PASS }))).toBe('KEY_KEYRING_MISSING');
    expect(await readdir(base)).toEqual([]);
  });

  it('refuses to overwrite an existing keyring', async () => {
    await (await createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST })).close();
    const before = await snapshot(dir);
    expect(await codeOf(createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST }))).toBe('KEY_KEYRING_EXISTS');
    expect(await codeOf(createLocalKeyring({ dir }))).toBe('KEY_KEYRING_EXISTS');
    expect(await snapshot(dir)).toEqual(before);
  });

  it('refuses a short passphrase and absurd scrypt parameters at creation', async () => {
    expect(await codeOf(createLocalKeyring({ dir, passphrase: 'short', scrypt: FAST }))).toBe('KEY_PROVIDER_CONFIG');
    const bad = { N: 1000, r: 8, p: 1 };
    expect(await codeOf(createLocalKeyring({ dir, passphrase: PASS, scrypt: bad }))).toBe('KEY_PROVIDER_CONFIG');
  });

  it('tells a damaged file from a wrong passphrase (KEY_KEYRING_CORRUPT)', async () => {
    await (await createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST })).close();
    const file = join(dir, 'root.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { versions: { sealed: string }[] };
    const sealed = Buffer.from(doc.versions[0]!.sealed, 'base64');
    sealed[20]! ^= 1;
    doc.versions[0]!.sealed = sealed.toString('base64');
    await writeFile(file, JSON.stringify(doc));
    expect(await codeOf(openLocalKeyring({ dir, passphrase: PASS }))).toBe('KEY_KEYRING_CORRUPT');
    await writeFile(file, '{ not json');
    expect(await codeOf(openLocalKeyring({ dir, passphrase: PASS }))).toBe('KEY_KEYRING_CORRUPT');
  });

  it('uses N=2^17, r=8, p=1 by default', async () => {
    const p = await createLocalKeyring({ dir, passphrase: PASS });
    await p.close();
    const doc = JSON.parse(await readFile(join(dir, 'root.json'), 'utf8')) as { protection: unknown };
    expect(doc.protection).toMatchObject({ N: 131072, r: 8, p: 1 });
  });
});

describe('local keyring, key-file-sealed', () => {
  it('creates a 0600 key file and reopens with it', async () => {
    const p = await createLocalKeyring({ dir });
    const aad = Buffer.from('a');
    const w = await p.wrap(Buffer.from('k'.repeat(32)), aad);
    await p.close();
    expect((await stat(join(dir, 'root.key'))).mode & 0o777).toBe(0o600);
    const q = await openLocalKeyring({ dir });
    expect((await q.unwrap(w, aad)).toString()).toBe('k'.repeat(32));
    expect(q.describe().details).toMatchObject({ protection: 'keyfile' });
    await q.close();
  });

  it('refuses a key file readable by group or others, with a clear error, changing nothing', async () => {
    await (await createLocalKeyring({ dir })).close();
    for (const mode of [0o640, 0o604, 0o660]) {
      await chmod(join(dir, 'root.key'), mode);
      const before = await snapshot(dir);
      try {
        await openLocalKeyring({ dir });
        throw new Error('opened');
      } catch (e) {
        expect(isCustosError(e) && e.code).toBe('KEY_KEYFILE_PERMISSIONS');
        expect((e as Error).message).toMatch(/chmod 600/);
        expect((e as Error).message).toContain(mode.toString(8));
      }
      expect(await snapshot(dir)).toEqual(before);
    }
  });

  it('missing or foreign key file is a clear error', async () => {
    await (await createLocalKeyring({ dir })).close();
    const other = join(base, 'other.key');
    await writeFile(other, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    expect(await codeOf(openLocalKeyring({ dir, keyFile: other }))).toBe('KEY_KEYFILE_WRONG');
    expect(await codeOf(openLocalKeyring({ dir, keyFile: join(base, 'nope.key') }))).toBe('KEY_KEYFILE_MISSING');
    expect(await codeOf(openLocalKeyring({ dir, passphrase: PASS }))).toBe('KEY_PROVIDER_CONFIG');
  });
});

describe('local root wraps (tampering)', () => {
  it('fails on changed AAD, flipped bits, relabelled version or another provider kind', async () => {
    const p = await createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST });
    await p.rotate();
    const aad = Buffer.from('tenant-kek|t-1');
    const w = await p.wrap(randomBytes(32), aad);
    expect(await codeOf(p.unwrap(w, Buffer.from('tenant-kek|t-2')))).toBe('KEY_UNWRAP_FAILED');
    for (let i = 6; i < w.length; i++) {
      const bad = Buffer.from(w);
      bad[i]! ^= 0x80;
      expect(await codeOf(p.unwrap(bad, aad))).toBe('KEY_UNWRAP_FAILED');
    }
    const relabelled = Buffer.from(w);
    relabelled.writeUInt32BE(1, 2);
    expect(await codeOf(p.unwrap(relabelled, aad))).toBe('KEY_UNWRAP_FAILED');
    const foreign = Buffer.from(w);
    foreign[1] = 2;
    expect(await codeOf(p.unwrap(foreign, aad))).toBe('KEY_PROVIDER_MISMATCH');
    const unknown = Buffer.from(w);
    unknown.writeUInt32BE(9, 2);
    expect(await codeOf(p.unwrap(unknown, aad))).toBe('KEY_ROOT_VERSION_UNKNOWN');
    expect(await codeOf(p.unwrap(w.subarray(0, 5), aad))).toBe('KEY_WRAPPED_MALFORMED');
    await p.close();
  });

  it('a second process sees a rotation made by the first (reload on unknown version)', async () => {
    const a = await createLocalKeyring({ dir, passphrase: PASS, scrypt: FAST });
    const b = await openLocalKeyring({ dir, passphrase: PASS });
    await a.rotate();
    const w = await a.wrap(Buffer.from('x'), Buffer.alloc(0));
    expect((await b.unwrap(w, Buffer.alloc(0))).toString()).toBe('x');
    expect(await codeOf(b.rotate())).toBe('KEY_KEYRING_CHANGED');
    await a.close();
    await b.close();
  });
});
