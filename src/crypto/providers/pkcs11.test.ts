import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isCustosError } from '../../shared/errors.js';
import { wrappedKeyInfo } from './blob.js';
import { createPkcs11Root, openPkcs11Provider, SOFTHSM2_LIBRARY, type Pkcs11ProviderOptions } from './pkcs11.js';
import type { Pkcs11Api } from './pkcs11-session.js';
import type { RootKeyProvider } from './types.js';

const SO_PIN = '87654321';
const PIN = '1234-user-pin';
const available = existsSync(SOFTHSM2_LIBRARY) && existsSync('/usr/bin/softhsm2-util');

let base: string;
const open: RootKeyProvider[] = [];

/** Initialises a fresh token in the test's own token directory (never a system token). */
function initToken(label: string): void {
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', label, '--so-pin', SO_PIN, '--pin', PIN],
    { env: { ...process.env, SOFTHSM2_CONF: process.env['SOFTHSM2_CONF'] }, stdio: 'pipe' },
  );
}

/** Wraps the real module, counting calls per method. */
function counting(): { calls: Record<string, number>; loadModule: (lib: string) => Pkcs11Api } {
  const calls: Record<string, number> = {};
  const loadModule = (lib: string): Pkcs11Api => {
    const real = new pkcs11js.PKCS11();
    real.load(lib);
    return new Proxy(real, {
      get(target, prop, receiver): unknown {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function' || typeof prop !== 'string') return v;
        return (...args: unknown[]): unknown => {
          calls[prop] = (calls[prop] ?? 0) + 1;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  };
  return { calls, loadModule };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isCustosError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a coded error');
}

async function track(p: Promise<RootKeyProvider>): Promise<RootKeyProvider> {
  const provider = await p;
  open.push(provider);
  return provider;
}

describe.skipIf(!available)('pkcs11 provider (SoftHSM2, temporary token directory)', () => {
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'custos-softhsm-'));
    await mkdir(join(base, 'tokens'));
    const conf = join(base, 'softhsm2.conf');
    await writeFile(conf, `directories.tokendir = ${join(base, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env['SOFTHSM2_CONF'] = conf;
    for (const label of ['custos-a', 'custos-b', 'custos-c', 'custos-d', 'custos-e', 'custos-empty']) initToken(label);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('init → wrap/unwrap → rotate → close → reopen → unwraps old and new', async () => {
    const o: Pkcs11ProviderOptions = { tokenLabel: 'custos-a', pin: PIN };
    const aad = Buffer.from('tenant-kek|t-1|v1');
    const p = await createPkcs11Root(o);
    const k1 = randomBytes(32);
    const w1 = await p.wrap(k1, aad);
    expect(wrappedKeyInfo(w1)).toEqual({ kind: 'pkcs11', version: 1 });
    expect((await p.unwrap(w1, aad)).equals(k1)).toBe(true);
    await p.rotate();
    const { key: k2, wrapped: w2 } = await p.generateWrappedKey(aad);
    expect(wrappedKeyInfo(w2).version).toBe(2);
    expect(p.describe()).toMatchObject({ kind: 'pkcs11', keyVersion: 2, versions: [1, 2] });
    expect(JSON.stringify(p.describe())).not.toContain(PIN);
    await p.close();
    await expect(p.wrap(k1, aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_CLOSED' });

    const q = await track(openPkcs11Provider(o));
    expect(q.describe().keyVersion).toBe(2);
    expect((await q.unwrap(w1, aad)).equals(k1)).toBe(true);
    expect((await q.unwrap(w2, aad)).equals(k2)).toBe(true);
    expect(await codeOf(q.unwrap(w2, Buffer.from('other aad')))).toBe('KEY_UNWRAP_FAILED');
    const flipped = Buffer.from(w2);
    flipped[flipped.length - 1]! ^= 1;
    expect(await codeOf(q.unwrap(flipped, aad))).toBe('KEY_UNWRAP_FAILED');
    const relabelled = Buffer.from(w2);
    relabelled.writeUInt32BE(1, 2);
    expect(await codeOf(q.unwrap(relabelled, aad))).toBe('KEY_UNWRAP_FAILED');
  });

  it('keeps root keys sensitive and non-extractable in the token', async () => {
    await (await createPkcs11Root({ tokenLabel: 'custos-b', pin: PIN })).close();
    const api = new pkcs11js.PKCS11();
    api.load(SOFTHSM2_LIBRARY);
    api.C_Initialize();
    try {
      const slot = api.C_GetSlotList(true).find((s) => api.C_GetTokenInfo(s).label.trim() === 'custos-b')!;
      const session = api.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
      api.C_Login(session, pkcs11js.CKU_USER, PIN);
      api.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: 'custos-root-v1' }]);
      const [h] = api.C_FindObjects(session, 2);
      api.C_FindObjectsFinal(session);
      const attrs = api.C_GetAttributeValue(session, h!, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
      ]);
      expect(attrs.map((a) => (a.value as Buffer)[0])).toEqual([1, 0, 1]);
      expect(() => api.C_GetAttributeValue(session, h!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    } finally {
      api.C_Finalize();
    }
  });

  it('a wrong PIN is KEY_HSM_PIN_WRONG, logs in exactly once, and is never sent again', async () => {
    const { calls, loadModule } = counting();
    const o = { tokenLabel: 'custos-c', pin: '0000-wrong', loadModule };
    let message = '';
    try {
      await openPkcs11Provider(o);
    } catch (e) {
      expect(isCustosError(e) && e.code).toBe('KEY_HSM_PIN_WRONG');
      message = (e as Error).message;
    }
    expect(message).toMatch(/wrong PIN.*custos-c/);
    expect(message).not.toContain('0000-wrong');
    expect(calls['C_Login']).toBe(1);
    expect(calls['C_Finalize']).toBe(1);
    expect(await codeOf(openPkcs11Provider(o))).toBe('KEY_HSM_PIN_WRONG');
    expect(calls['C_Login']).toBe(1);
    // The right PIN still works afterwards (nothing was locked or changed).
    await track(createPkcs11Root({ tokenLabel: 'custos-c', pin: PIN }));
  });

  it('a missing token is KEY_HSM_TOKEN_MISSING; an empty token is KEY_HSM_KEY_MISSING; create refuses to overwrite', async () => {
    expect(await codeOf(openPkcs11Provider({ tokenLabel: 'no-such-token', pin: PIN }))).toBe('KEY_HSM_TOKEN_MISSING');
    expect(await codeOf(openPkcs11Provider({ tokenLabel: 'custos-empty', pin: PIN }))).toBe('KEY_HSM_KEY_MISSING');
    await (await createPkcs11Root({ tokenLabel: 'custos-d', pin: PIN })).close();
    expect(await codeOf(createPkcs11Root({ tokenLabel: 'custos-d', pin: PIN }))).toBe('KEY_HSM_KEY_EXISTS');
  });

  it('re-initialises after a fork (pid change): C_Initialize and C_Login again, old blobs still unwrap', async () => {
    const { calls, loadModule } = counting();
    let pid = 1000;
    const p = await track(
      createPkcs11Root({ tokenLabel: 'custos-e', pin: PIN, loadModule, processId: () => pid }),
    );
    const w = await p.wrap(Buffer.from('k'.repeat(32)), Buffer.alloc(0));
    expect(calls['C_Initialize']).toBe(1);
    pid = 1001;
    expect((await p.unwrap(w, Buffer.alloc(0))).toString()).toBe('k'.repeat(32));
    expect(calls['C_Initialize']).toBe(2);
    expect(calls['C_Login']).toBe(2);
    await p.wrap(Buffer.from('x'), Buffer.alloc(0));
    expect(calls['C_Initialize']).toBe(2);
  });

  it('serialises concurrent operations through the one session owner, and refuses a second owner', async () => {
    const p = await track(openPkcs11Provider({ tokenLabel: 'custos-a', pin: PIN }));
    const keys = Array.from({ length: 40 }, () => randomBytes(32));
    const aad = Buffer.from('burst');
    const wrapped = await Promise.all(keys.map((k) => p.wrap(k, aad)));
    const back = await Promise.all(wrapped.map((w) => p.unwrap(w, aad)));
    expect(back.every((k, i) => k.equals(keys[i]!))).toBe(true);
    expect(await codeOf(openPkcs11Provider({ tokenLabel: 'custos-b', pin: PIN }))).toBe('KEY_HSM_BUSY');
  });

  it('reads the PIN from an environment variable or a 0600 file, and refuses a group-readable PIN file', async () => {
    process.env['CUSTOS_TEST_HSM_PIN'] = PIN;
    await (await openPkcs11Provider({ tokenLabel: 'custos-a', pinEnv: 'CUSTOS_TEST_HSM_PIN' })).close();
    delete process.env['CUSTOS_TEST_HSM_PIN'];
    const pinFile = join(base, 'pin');
    await writeFile(pinFile, `${PIN}\n`, { mode: 0o600 });
    await (await openPkcs11Provider({ tokenLabel: 'custos-a', pinFile })).close();
    await writeFile(join(base, 'pin-loose'), `${PIN}\n`, { mode: 0o644 });
    expect(await codeOf(openPkcs11Provider({ tokenLabel: 'custos-a', pinFile: join(base, 'pin-loose') }))).toBe(
      'KEY_KEYFILE_PERMISSIONS',
    );
    expect(await codeOf(openPkcs11Provider({ tokenLabel: 'custos-a', pin: PIN, pinEnv: 'X' }))).toBe(
      'KEY_PROVIDER_CONFIG',
    );
    expect(await codeOf(openPkcs11Provider({ tokenLabel: 'custos-a', pinEnv: 'CUSTOS_UNSET_VAR' }))).toBe(
      'KEY_PROVIDER_CONFIG',
    );
  });
});
