import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createCustos } from '../src/main.js';
import { createLogger } from '../src/logger.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testApp, testAuditSigner, type TestApp } from './helpers/app.js';
import { runCli } from './helpers/cli.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('audit export, archive and retention on %s (real CLI)', { timeout: 120_000 }, (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  /** A log whose first entries are 800 days old: the clock is moved by hand while recording. */
  async function agedLog(): Promise<{ vkey: string; env: Record<string, string | undefined>; dir: string; old: number }> {
    let now = Date.now() - 800 * DAY;
    const clock = { now: () => new Date(now) };
    t = await testApp(dialect, { clock, auditSequencer: false });
    const seq = t.custos.auditLog.sequencer!;
    const record = (i: number) =>
      t.custos.audit.recordAlone(systemContext('bundle-test'), { classUid: 6003, activityId: 99, action: 'test.bundle', kind: 'system', outcome: 'success', details: { i } });
    for (let i = 0; i < 9; i++) await record(i);
    await seq.tick({ checkpoint: true });
    const old = Number((await t.custos.db.read((tx) => tx.selectFrom('audit_entries').select((eb) => eb.fn.max('idx').as('m')).executeTakeFirst()))?.m) + 1;
    now = Date.now();
    for (let i = 0; i < 6; i++) await record(100 + i);
    await seq.tick({ checkpoint: true });
    const vkey = (await t.custos.auditLog.currentKey()).verifierKey;
    const env = { CUSTOS_DATA_DIR: t.env.dataDir, CUSTOS_DATABASE_URL: t.env.config.databaseUrl, CUSTOS_LOG_LEVEL: 'silent' };
    return { vkey, env, dir: t.env.dataDir, old };
  }

  it('export: a self-contained bundle that verifies offline; a changed line fails naming its index', async () => {
    const { vkey, env, dir } = await agedLog();
    const out = path.join(dir, 'export.jsonl');
    const r = runCli(['audit', 'export', '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z', '--out', out, '--key', vkey], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^exported \d+ entries \(proven in the tree of size \d+\)/);
    const pinned = runCli(['audit', 'verify-bundle', out, '--key', vkey]);
    expect(pinned.code, pinned.stdout + pinned.stderr).toBe(0);
    expect(pinned.stdout).toMatch(/^ok: export of \d+ entries.*signed by the trusted key/);
    expect(runCli(['audit', 'verify-bundle', out]).stdout).toMatch(/pin it with --key/);
    expect(runCli(['audit', 'export', '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z', '--out', out, '--key', vkey], env).code).toBe(2);

    const lines = readFileSync(out, 'utf8').split('\n');
    const target = JSON.parse(lines[3]!) as { index: number; event: string };
    const changed = target.event.replace('"class_uid":', '"class_uix":');
    lines[3] = JSON.stringify({ ...target, event: changed });
    const bad = path.join(dir, 'export-bad.jsonl');
    writeFileSync(bad, lines.join('\n'));
    const v = runCli(['audit', 'verify-bundle', bad, '--key', vkey]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`INVALID: first bad index ${target.index}, line 4`);
    const dropped = path.join(dir, 'export-short.jsonl');
    writeFileSync(dropped, [...lines.slice(0, 3), ...lines.slice(4)].join('\n'));
    expect(runCli(['audit', 'verify-bundle', dropped, '--key', vkey]).code).toBe(1);
    writeFileSync(path.join(dir, 'junk'), 'hello\n');
    expect(runCli(['audit', 'verify-bundle', path.join(dir, 'junk')]).code).toBe(2);
    expect(runCli(['audit', 'verify-bundle', path.join(dir, 'missing')]).code).toBe(2);
  });

  it('archive: past retention only; writes and verifies the bundle, then prunes; what remains still verifies', async () => {
    const { vkey, env, dir, old } = await agedLog();
    const size = Number((await t.custos.db.read((tx) => tx.selectFrom('audit_checkpoints').select('size').orderBy('size', 'desc').executeTakeFirst()))?.size);
    await t.custos.close();
    const tooRecent = runCli(['audit', 'archive', '--before', new Date(Date.now() - 100 * DAY).toISOString(), '--out', path.join(dir, 'a0'), '--key', vkey], env);
    expect(tooRecent.code).toBe(2);
    expect(tooRecent.stderr).toMatch(/retention 365 days/);
    expect(existsSync(path.join(dir, 'a0'))).toBe(false);

    const out = path.join(dir, 'archive.jsonl');
    const before = new Date(Date.now() - 400 * DAY).toISOString();
    const a = runCli(['audit', 'archive', '--before', before, '--out', out, '--key', vkey], env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain(`archived entries [0, ${old})`);
    expect(a.stdout).toContain(`pruned ${old} entries`);
    const vb = runCli(['audit', 'verify-bundle', out, '--key', vkey]);
    expect(vb.code, vb.stdout).toBe(0);
    expect(vb.stdout).toContain(`archive of entries [0, ${old})`);

    const v = runCli(['audit', 'verify', '--key', vkey], env);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain(`entries below ${old} archived`);
    // The audit.archive event waits in the outbox: no sequencer runs while the CLI archives.
    expect(v.stdout).toMatch(new RegExp(`^ok: ${size} entries`));
    expect(runCli(['audit', 'archive', '--before', before, '--out', path.join(dir, 'a2'), '--key', vkey], env).stdout).toMatch(/nothing to archive/);

    const lines = readFileSync(out, 'utf8').split('\n');
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    writeFileSync(path.join(dir, 'swapped.jsonl'), lines.join('\n'));
    expect(runCli(['audit', 'verify-bundle', path.join(dir, 'swapped.jsonl'), '--key', vkey]).code).toBe(1);

    if (dialect === 'sqlite') {
      // A kept leaf hash of a pruned entry, changed through a raw connection, is found by the next checkpoint.
      const raw = new BetterSqlite3(path.join(dir, 'custos.db'));
      raw.exec('DROP TRIGGER audit_nodes_no_update');
      raw.prepare('UPDATE audit_nodes SET hash = ? WHERE level = 0 AND idx = 2').run(Buffer.alloc(32, 9));
      raw.close();
      const tampered = runCli(['audit', 'verify', '--key', vkey], env);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toMatch(/TAMPERED: first bad index \d+ \(root-mismatch\)/);
      return;
    }
    // Reopen: the sequencer extends the pruned log, proofs still come from the kept nodes.
    const custos = await createCustos(t.env.config, { logger: createLogger('silent'), auditSigner: testAuditSigner(), auditSequencer: false });
    t.custos = custos;
    expect((await custos.db.read((tx) => tx.selectFrom('audit_entries').select('idx').where('idx', '<', old).execute())).length).toBe(0);
    const p = await custos.auditLog.reader.inclusionProof(systemContext('test'), 0, size);
    expect(p.proof.length).toBeGreaterThan(0);
  });

  it('retention can only be raised: a lower setting is refused at start', async () => {
    t = await testApp(dialect, { overrides: { 'audit.retentionDays': 400 } });
    const config = { ...t.env.config, audit: { ...t.env.config.audit, retentionDays: 365 } };
    await expect(createCustos(config, { logger: createLogger('silent'), auditSigner: testAuditSigner() })).rejects.toMatchObject({ code: 'AUDIT_RETENTION_LOWERED' });
  });
});
