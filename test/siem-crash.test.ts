/**
 * Crash test of the SIEM worker: a child process (sequencer and SIEM worker
 * running in-process, small batches, two loops recording `test.ping`
 * events) is killed with SIGKILL at random moments; after the last kill, a
 * restart drains the log and the worker catches up (waiting out the dead
 * child's lease). For every key, the burst rule (three pings → one match,
 * the window then cleared) must have fired exactly ⌊pings/3⌋ times in
 * total: a batch evaluated but not committed is evaluated again from the
 * stored window state, a committed one never twice.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';
import { createCustos } from '../src/main.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';
import { ROOT, spawnLines, type LineChild } from './helpers/cli.js';
import { PING_RULES, testSiem, writeRuleFile } from './helpers/siem.js';

const CHILD = path.join(ROOT, 'test/fixtures/siem-crash-child.mjs');
const ROUNDS = 3;

function start(configPath: string): LineChild {
  return spawnLines(CHILD, [], { CUSTOS_CONFIG: configPath });
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe.each(DIALECTS)('SIEM worker killed with SIGKILL on %s', (dialect) => {
  let env: TestEnv;
  let configPath: string;
  const siemConfig = { builtinRules: false, rulePaths: [writeRuleFile(PING_RULES)], pollMs: 20, batchSize: 7, leaseSeconds: 2 };
  beforeAll(async () => {
    env = await testEnv(dialect);
    configPath = path.join(env.dataDir, 'custos.yaml');
    const file = { dataDir: env.dataDir, ...(env.config.databaseUrl ? { databaseUrl: env.config.databaseUrl } : {}), logLevel: 'silent', audit: { sequencer: { pollMs: 20, batchSize: 50 } }, siem: siemConfig };
    // YAML is a superset of JSON.
    writeFileSync(configPath, JSON.stringify(file));
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it(`${ROUNDS} kills mid-window: every key's burst fired exactly ⌊pings/3⌋ times`, async () => {
    let acks = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const child = start(configPath);
      await until(() => child.lines.includes('ready') || child.exitCode !== null, 30_000);
      expect(child.lines.filter((l) => !l.startsWith('ack ')), 'child output').toEqual(['ready']);
      const target = child.lines.length + 20 + Math.floor(Math.random() * 80);
      await until(() => child.lines.length >= target, 10_000);
      child.kill('SIGKILL');
      await child.exited;
      acks += child.lines.filter((l) => l.startsWith('ack ')).length;
    }
    expect(acks).toBeGreaterThan(ROUNDS * 20);

    const config = loadConfig({ env: { CUSTOS_CONFIG: configPath }, overrides: { 'siem.enabled': false } });
    const c = await createCustos(config, { logger: createLogger('silent'), auditSequencer: false });
    try {
      while (((await c.auditLog.sequencer?.tick())?.integrated ?? 0) > 0) {
        // drain what the last child committed to the outbox
      }
      // The children's workers evaluated (part of) the log before they died.
      const cursor = await c.db.read((tx) => tx.selectFrom('siem_state').select('next_index').executeTakeFirst());
      expect(Number(cursor?.next_index ?? 0)).toBeGreaterThan(0);
      const siem = testSiem(c);
      const end = Date.now() + 10_000;
      for (;;) {
        const r = await siem.worker.tick();
        if (r.leader && r.evaluated === 0) break;
        if (Date.now() > end) throw new Error('the SIEM worker did not catch up');
        if (!r.leader) await new Promise((res) => setTimeout(res, 200));
      }
      const pings = await c.db.read((tx) => tx.selectFrom('audit_entries').select('event').where('action', '=', 'test.ping').execute());
      const perKey = new Map<string, number>();
      for (const p of pings) {
        const key = (JSON.parse(p.event) as { unmapped: { key: string } }).unmapped.key;
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
      }
      const alerts = await c.db.read((tx) => tx.selectFrom('siem_alerts').select(['group_key', 'count']).execute());
      const fired = new Map<string, number>();
      for (const a of alerts) fired.set(a.group_key, (fired.get(a.group_key) ?? 0) + a.count);
      const want = [...perKey].map(([k, n]) => [k, Math.floor(n / 3)]).sort();
      const got = [...perKey.keys()].map((k) => [k, fired.get(`unmapped.key=${k}`) ?? 0]).sort();
      expect(got).toEqual(want);
      // One alert per key (repeats folded within the suppression window), nothing else raised.
      expect(alerts.length).toBe(perKey.size);
      await siem.stop();
    } finally {
      await c.close();
    }
  }, 180_000);
});
