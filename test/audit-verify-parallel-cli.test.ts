/**
 * `custos audit verify` with the parallel path forced on a small log (SQLite,
 * real CLI): the whole tamper battery of audit-tamper.test.ts runs again with
 * CUSTOS_AUDIT_VERIFY_THREADS=2 (every case exits 1 naming the same first bad
 * index; the untouched copy exits 0; --against a rewritten history fails),
 * and here the clean log is shown to be checked by the workers themselves.
 */
import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signerFromPrivateKey } from '../src/audit/index.js';
import { createLogger } from '../src/logger.js';
import { createCustos } from '../src/main.js';
import { systemContext } from '../src/shared/context.js';
import { testEnv, type TestEnv } from './helpers/app.js';
import { runCli } from './helpers/cli.js';

const before = process.env.CUSTOS_AUDIT_VERIFY_THREADS;
process.env.CUSTOS_AUDIT_VERIFY_THREADS = '2';
afterAll(() => {
  if (before === undefined) delete process.env.CUSTOS_AUDIT_VERIFY_THREADS;
  else process.env.CUSTOS_AUDIT_VERIFY_THREADS = before;
});

// The battery itself, every case unchanged, its CLI runs now with two worker threads.
await import('./audit-tamper.test.js');

const SIGNER = signerFromPrivateKey(createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 9)]), format: 'der', type: 'pkcs8' }));

describe('audit verify --threads (real CLI)', () => {
  let env: TestEnv;
  let vkey: string;

  beforeAll(async () => {
    env = await testEnv('sqlite');
    const custos = await createCustos(env.config, { logger: createLogger('silent'), auditSigner: SIGNER, auditSequencer: false });
    for (let i = 0; i < 70; i++) {
      await custos.audit.recordAlone(systemContext('parallel-cli-test'), { classUid: 6003, activityId: 99, action: 'test.parallel', kind: 'system', outcome: 'success', details: { i } });
      if (i % 9 === 0) await custos.auditLog.sequencer!.tick({ checkpoint: true });
    }
    await custos.auditLog.sequencer!.tick({ checkpoint: true });
    vkey = (await custos.auditLog.currentKey()).verifierKey;
    await custos.close();
  }, 120_000);

  afterAll(() => env?.cleanup());

  const verify = (threads: string) => runCli(['audit', 'verify', '--key', vkey, '--threads', threads], { CUSTOS_DATA_DIR: env.dataDir, CUSTOS_LOG_LEVEL: 'silent' });

  it('threads verify the log in parts themselves and say what one thread says', () => {
    const parallel = verify('3');
    const one = verify('1');
    expect(parallel.code, parallel.stderr).toBe(0);
    expect(parallel.stderr).toContain('verify: checked in parts on 3 threads');
    // The end is shown once, whatever thread reached it.
    for (const r of [parallel, one]) expect(r.stderr.split('\n').filter((l) => /^verify: (\d+)\/\1 entries$/.test(l))).toHaveLength(1);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).not.toContain('in parts');
    expect(parallel.stdout).toBe(one.stdout);
  });

  it('refuses a thread count that is not a whole number from 1 to 256 (exit 2)', () => {
    for (const bad of ['0', '-1', '2.5', 'many', '257']) {
      const r = verify(bad);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain('--threads');
    }
  });
});
