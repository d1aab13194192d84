import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard } from '../src/access/index.js';
import { createKeyAdmin, openExistingRootKey } from '../src/keys/index.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv } from './helpers/app.js';
import { runCli } from './helpers/cli.js';
import { codeOf, keysCore, treeSnapshot } from './helpers/keys.js';

const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';
const available = existsSync(SOFTHSM) && existsSync('/usr/bin/softhsm2-util');
const PIN = '4711-user-pin';
const WRONG = '0000-not-the-pin';
const ctx = (t: string) => ({ tenantId: t, purpose: 'people', objectId: 'r1', field: 'email' });

let base: string;

describe.skipIf(!available)('PKCS#11 root key on SoftHSM2 (a token the test creates), end to end', () => {
  beforeAll(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'custos-hsm-e2e-'));
    mkdirSync(path.join(base, 'tokens'));
    const conf = path.join(base, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${path.join(base, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env['SOFTHSM2_CONF'] = conf;
    for (const d of DIALECTS) {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', `custos-e2e-${d}`, '--so-pin', '12345678', '--pin', PIN], { stdio: 'pipe' });
    }
  });
  afterAll(() => {
    delete process.env['CUSTOS_HSM_PIN'];
    rmSync(base, { recursive: true, force: true });
  });

  it.each(DIALECTS)('on %s: init → wrap/unwrap → rotate → restart → decrypt; a wrong PIN is one clear error, tried once, and changes nothing', async (dialect) => {
    const label = `custos-e2e-${dialect}`;
    const env = await testEnv(dialect, { 'keys.provider': 'pkcs11', 'keys.pkcs11.tokenLabel': label });
    const cliEnv = {
      SOFTHSM2_CONF: process.env['SOFTHSM2_CONF'],
      CUSTOS_DATA_DIR: env.dataDir,
      CUSTOS_DATABASE_URL: env.config.databaseUrl,
      CUSTOS_KEY_PROVIDER: 'pkcs11',
      CUSTOS_HSM_TOKEN_LABEL: label,
      CUSTOS_HSM_PIN: PIN,
      CUSTOS_LOG_LEVEL: 'silent',
    };
    try {
      const init = runCli(['init'], cliEnv);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toMatch(/created the root key \(pkcs11 v1: .*tokenLabel custos-e2e/);
      expect(init.stdout + init.stderr).not.toContain(PIN);
      expect(existsSync(path.join(env.dataDir, 'keyring'))).toBe(false); // nothing of the root key on disk

      process.env['CUSTOS_HSM_PIN'] = PIN;
      let core = await keysCore(env.config, { root: (await openExistingRootKey(env.config))! });
      const tenants = [randomUUID(), randomUUID(), randomUUID()];
      const sealed = await Promise.all(tenants.map(async (t) => [t, await core.keys.seal({ tenantId: t, subjectId: randomUUID() }, Buffer.from(t), ctx(t))] as const));
      const admin = () => createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) });
      let s = await admin().status(systemContext('test'));
      expect(s.root).toMatchObject({ kind: 'pkcs11', currentVersion: 1, details: { tokenLabel: label, mechanism: 'CKM_AES_GCM' } });
      expect(s.root.versions).toEqual([{ version: 1, wraps: 3, retired: false }]);
      await core.close(); // one HSM session owner per process: the CLI below has its own

      const rotated = runCli(['keys', 'rotate', '--root'], cliEnv);
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(rotated.stdout).toMatch(/root key rotated to version 2[\s\S]*rewrap root done: 3 key/);

      core = await keysCore(env.config, { root: (await openExistingRootKey(env.config))! }); // "restart"
      for (const [t, e] of sealed) expect((await core.keys.open(e, ctx(t))).toString()).toBe(t);
      s = await admin().status(systemContext('test'));
      expect(s.root.versions).toEqual([
        { version: 1, wraps: 0, retired: false },
        { version: 2, wraps: 3, retired: false },
      ]);
      await core.close();

      // A wrong PIN: one line, exit 2, no PIN in it, nothing changed; the right PIN still works (not locked, never retried).
      const before = treeSnapshot(env.dataDir);
      for (const verb of [['keys', 'status'], ['serve'], ['init']]) {
        const r = runCli(verb, { ...cliEnv, CUSTOS_HSM_PIN: WRONG });
        expect(r.code, `${verb.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/wrong PIN for HSM token "custos-e2e-.*" \(not retried\)/);
        expect(r.stderr + r.stdout).not.toContain(WRONG);
      }
      expect(treeSnapshot(env.dataDir)).toEqual(before);
      process.env['CUSTOS_HSM_PIN'] = WRONG;
      expect(await codeOf(openExistingRootKey(env.config))).toBe('KEY_HSM_PIN_WRONG');
      expect(await codeOf(openExistingRootKey(env.config))).toBe('KEY_HSM_PIN_WRONG'); // refused without sending it again
      const ok = runCli(['keys', 'retire'], cliEnv);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/versions below v2 retired/);
    } finally {
      delete process.env['CUSTOS_HSM_PIN'];
      await env.cleanup();
    }
  }, 120_000);
});
