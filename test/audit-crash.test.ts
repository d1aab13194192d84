/**
 * Crash test (DESIGN invariant 6): a child process creating tenants (each
 * creation and its audit event in one transaction, the sequencer running) is
 * killed with SIGKILL at a random moment, 20 times; each restart first
 * drains the outbox and verifies the stored log (the same verifier as the
 * CLI's) before writing again; at the end a last restart drains, the real
 * `custos audit verify` must exit 0 and every write the child acknowledged
 * has its entry, exactly once.
 */
import { createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointKey, signerFromPrivateKey } from '../src/audit/index.js';
import { openDatabase } from '../src/db/index.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';
import { ROOT, runCli, spawnLines, type LineChild } from './helpers/cli.js';

const CHILD = path.join(ROOT, 'test/fixtures/audit-crash-child.mjs');
const ROUNDS = 20;
const SEED = Buffer.alloc(32, 42);
const KEY = checkpointKey(
  'custos.local/audit',
  signerFromPrivateKey(createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]), format: 'der', type: 'pkcs8' })),
);

function start(mode: 'write' | 'drain', env: Record<string, string | undefined>): LineChild {
  return spawnLines(CHILD, [mode], { CUSTOS_CONFIG: undefined, ...env });
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe.each(DIALECTS)('crash (SIGKILL) during writes on %s', (dialect) => {
  let env: TestEnv;
  let childEnv: Record<string, string | undefined>;
  beforeAll(async () => {
    env = await testEnv(dialect);
    childEnv = { CUSTOS_DATA_DIR: env.dataDir, CUSTOS_DATABASE_URL: env.config.databaseUrl, CUSTOS_LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it(`${ROUNDS} kills at random moments: every acknowledged write has its entry once, and the log verifies`, async () => {
    const acked = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const writer = start('write', childEnv);
      await until(() => writer.lines.some((l) => l.startsWith('ack ')) || writer.exitCode !== null, 60_000);
      expect(writer.exitCode, `round ${round}: ${writer.lines.join('\n')}`).toBeNull();
      expect(writer.lines[0], `round ${round}: the restart drains and verifies`).toMatch(/^drained \d+; verified ok \d+$/);
      await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 600)));
      writer.kill('SIGKILL');
      await writer.exited;
      for (const l of writer.lines) if (l.startsWith('ack ')) acked.add(l.slice(4));
    }
    const drain = start('drain', childEnv);
    expect(await drain.exited, drain.lines.join('\n')).toBe(0);
    expect(drain.lines[0]).toMatch(/verified ok/);
    const v = runCli(['audit', 'verify', '--key', KEY.verifierKey], childEnv);
    expect(v.code, `${v.stdout}${v.stderr}`).toBe(0);
    expect(v.stdout).toMatch(/^ok: \d+ entries/);
    const db = openDatabase({ dataDir: env.dataDir, databaseUrl: env.config.databaseUrl, appRole: env.config.database.appRole, poolSize: 2, groupCommitMax: 1 });
    try {
      const rows = await db.read((tx) => tx.selectFrom('audit_entries').select(['target_id', 'event_id']).where('action', '=', 'tenant.create').execute());
      const perTenant = new Map<string, number>();
      for (const r of rows) perTenant.set(String(r.target_id), (perTenant.get(String(r.target_id)) ?? 0) + 1);
      const missing = [...acked].filter((id) => perTenant.get(id) !== 1);
      expect(acked.size).toBeGreaterThan(ROUNDS);
      expect(missing, 'acknowledged writes without exactly one entry').toEqual([]);
      const tenants = await db.read((tx) => tx.selectFrom('tenants').select('id').execute());
      // Every committed tenant (acknowledged or not yet printed) has exactly one entry: nothing is lost or duplicated.
      expect(tenants.filter((t) => perTenant.get(t.id) !== 1)).toEqual([]);
      expect(rows.length).toBe(tenants.length);
      expect(await db.read((tx) => tx.selectFrom('audit_outbox').select('seq').execute())).toEqual([]);
    } finally {
      await db.close();
    }
  }, 600_000);
});
