import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGuard } from '../src/access/index.js';
import { createKeyAdmin, type KeyStatus } from '../src/keys/index.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';
import { runCli, startCli, waitFor } from './helpers/cli.js';
import { codeOf, keysCore, manualClock } from './helpers/keys.js';

const sys = systemContext('test');
const ctx = (tenantId: string, objectId: string) => ({ tenantId, purpose: 'people', objectId, field: 'email' });
type Core = Awaited<ReturnType<typeof keysCore>>;

function adminOf(core: Core) {
  return createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) });
}

async function countWhere(core: Core, condition: string): Promise<number> {
  const table = sql.table(`${core.db.adapter.keyStoreSchema}.key_versions`);
  return core.db.read(async (tx) => Number((await sql<{ n: number }>`select count(*) as n from ${table} where ${sql.raw(condition)}`.execute(tx)).rows[0]?.n));
}

async function actions(core: Core): Promise<string[]> {
  const rows = await core.db.read((tx) => tx.selectFrom('audit_outbox').select('event').orderBy('seq').execute());
  return rows.map((r) => (JSON.parse(r.event) as { custos: { action: string } }).custos.action);
}

describe.each(DIALECTS)('key rotation on %s', (dialect) => {
  let env: TestEnv;
  beforeEach(async () => {
    env = await testEnv(dialect);
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('tenant KEK: rotate, rewrap its keys, retire v1 once nothing depends on it; old and new data decrypt', async () => {
    const clock = manualClock();
    const core = await keysCore(env.config, { clock });
    const admin = adminOf(core);
    const t = randomUUID();
    const sealed: Array<[string, Buffer]> = [];
    for (let i = 0; i < 7; i++) {
      const id = `rec-${i}`;
      sealed.push([id, await core.keys.seal({ tenantId: t, subjectId: i % 2 ? randomUUID() : undefined }, Buffer.from(id), ctx(t, id))]);
    }
    const rotated = await admin.rotateTenant(sys, t);
    expect(rotated.version).toBe(2);
    expect(rotated.jobId).not.toBeNull();
    let s: KeyStatus = await admin.status(sys, t);
    expect(s.pending.some((p) => p.includes('KEK v1 still wraps'))).toBe(true);
    const [result] = await admin.rewrap(sys, { batchSize: 3 });
    expect(result).toMatchObject({ scope: 'tenant', owner: t, rewrapped: 4, skipped: 0 }); // tenant DEK + 3 subject DEKs
    s = await admin.status(sys, t);
    expect(s.tenants[0]?.kek?.versions.map((v) => [v.version, v.state, v.dependents])).toEqual([
      [1, 'decrypt-only', 0],
      [2, 'current', 4],
    ]);
    expect(s.pending).toEqual([]);
    expect((await admin.retire(sys)).keks).toEqual([]); // within the grace period nothing is retired
    clock.advance(6_000);
    expect((await admin.retire(sys)).keks).toEqual([{ tenantId: t, retired: [1], minVersion: 2 }]);
    expect(await countWhere(core, `owner = '${t}' and purpose = 'tenant-kek' and version = 1 and wrapped is not null`)).toBe(0);
    core.keys.invalidate();
    for (const [id, env2] of sealed) expect((await core.keys.open(env2, ctx(t, id))).toString()).toBe(id);
    const later = await core.keys.seal({ tenantId: t, subjectId: randomUUID() }, Buffer.from('later'), ctx(t, 'later'));
    expect((await core.keys.open(later, ctx(t, 'later'))).toString()).toBe('later');
    expect(await actions(core)).toEqual(expect.arrayContaining(['key.rotate', 'key.rewrap.start', 'key.rewrap.finish', 'key.retire']));
    await core.close();
  });

  it('root key: rotate, rewrap, retire; a blob still wrapped under the retired root version is refused', async () => {
    const core = await keysCore(env.config);
    const admin = adminOf(core);
    const t = randomUUID();
    const e = await core.keys.seal({ tenantId: t }, Buffer.from('v'), ctx(t, 'r'));
    const table = sql.table(`${core.db.adapter.keyStoreSchema}.key_versions`);
    const kekBlob = await core.db.read(async (tx) => (await sql<{ wrapped: Buffer }>`select wrapped from ${table} where purpose = 'tenant-kek'`.execute(tx)).rows[0]!.wrapped);
    expect((await admin.rotateRoot(sys)).version).toBe(2);
    await expect(admin.rotateRoot(sys)).rejects.toMatchObject({ code: 'KEY_REWRAP_RUNNING' });
    await admin.rewrap(sys);
    expect(await countWhere(core, 'root_version = 1')).toBe(0);
    expect((await admin.retire(sys)).root).toEqual({ from: 1, to: 2 });
    // Put the v1-wrapped KEK back (as an old key-store copy would have it): it no longer unwraps.
    await core.db.write((tx) => sql`update ${table} set wrapped = ${kekBlob}, root_version = 1 where purpose = 'tenant-kek'`.execute(tx));
    core.keys.invalidate();
    core.keys.touched();
    expect(await codeOf(core.keys.open(e, ctx(t, 'r')))).toBe('KEY_VERSION_RETIRED');
    await core.close();
  });
});

describe.each(DIALECTS)('rewrap killed halfway and re-run (CLI, kill -9) on %s', { timeout: 120_000 }, (dialect) => {
  let env: TestEnv;
  beforeEach(async () => {
    env = await testEnv(dialect);
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('data sealed under root v1; rotate --root killed mid-rewrap; `keys rewrap` resumes; everything decrypts; after retire nothing references v1', async () => {
    const cliEnv = { CUSTOS_DATA_DIR: env.dataDir, CUSTOS_DATABASE_URL: env.config.databaseUrl, CUSTOS_LOG_LEVEL: 'silent' };
    let core = await keysCore(env.config);
    const sealed: Array<[string, string, Buffer]> = [];
    for (let i = 0; i < 40; i++) {
      const t = randomUUID();
      sealed.push([t, `rec-${i}`, await core.keys.seal({ tenantId: t, subjectId: randomUUID() }, Buffer.from(`value-${i}`), ctx(t, `rec-${i}`))]);
    }
    expect(await countWhere(core, 'root_version = 1')).toBe(40);
    await core.close();

    const child = startCli(['keys', 'rotate', '--root', '--batch-size', '2', '--pace', '60'], cliEnv);
    await waitFor(async () => {
      const m = [...child.output().matchAll(/rewrap root \[[#-]+\] (\d+)\/(\d+)/g)].pop();
      return m !== undefined && Number(m[1]) >= 10;
    }, 60_000, 'the rewrap to pass 10 keys');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(child.output()).not.toMatch(/rewrap root done/);

    const halfway = JSON.parse(runCli(['keys', 'status', '--json'], cliEnv).stdout) as KeyStatus;
    expect(halfway.root.currentVersion).toBe(2);
    const job = halfway.jobs.find((j) => j.scope === 'root')!;
    expect(job.state).toBe('running');
    expect(job.done).toBeGreaterThanOrEqual(10);
    expect(job.done).toBeLessThan(job.total);
    expect(halfway.pending.join('\n')).toMatch(/root v1 still wraps \d+ key/);

    const resumed = runCli(['keys', 'rewrap', '--batch-size', '5'], cliEnv);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/rewrap root done/);
    expect(resumed.stderr).toMatch(/rewrap root \[#+\] 40\/40 \(100%\)/);
    const retired = runCli(['keys', 'retire'], cliEnv);
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.stdout).toMatch(/root: versions below v2 retired/);
    const after = JSON.parse(runCli(['keys', 'status', '--json'], cliEnv).stdout) as KeyStatus;
    expect(after.root).toMatchObject({ currentVersion: 2, minVersion: 2 });
    expect(after.root.versions).toEqual([
      { version: 1, wraps: 0, retired: true },
      { version: 2, wraps: 40, retired: false },
    ]);
    expect(after.pending).toEqual([]);

    core = await keysCore(env.config);
    expect(await countWhere(core, 'root_version = 1')).toBe(0);
    for (const [t, id, e] of sealed) expect((await core.keys.open(e, ctx(t, id))).toString()).toBe(`value-${id.slice(4)}`);
    expect(await actions(core)).toEqual(expect.arrayContaining(['key.rotate', 'key.rewrap.start', 'key.rewrap.resume', 'key.rewrap.finish', 'key.retire']));
    await core.close();
  });
});
