import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointKey, createAuditRecorder, createLogSource, signerFromPrivateKey, verifyStoredLog } from '../src/audit/index.js';
import { createVerifyJob } from '../src/audit/scheduler.js';
import { createSequencer, type Sequencer } from '../src/audit/sequencer/index.js';
import { openDatabase, type Db } from '../src/db/index.js';
import { systemClock } from '../src/shared/clock.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';

const ORIGIN = 'storage.test/audit';
const KEY = checkpointKey(ORIGIN, signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey));

function open(env: TestEnv, poolSize = 4): Db {
  return openDatabase({ dataDir: env.dataDir, databaseUrl: env.config.databaseUrl, appRole: env.config.database.appRole, poolSize, groupCommitMax: 64 });
}

function sequencer(db: Db, batchSize = 50): Sequencer {
  return createSequencer({ db, key: async () => KEY, origin: ORIGIN, batchSize, pollMs: 20, checkpointIntervalMs: 0, now: () => new Date() });
}

const record = (db: Db, n: number, tag = 'x') => {
  const audit = createAuditRecorder({ db, clock: systemClock });
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      audit.recordAlone(systemContext('storage-test'), { classUid: 6003, activityId: 99, action: 'test.storage', kind: 'system', outcome: 'success', details: { tag, i } }),
    ),
  );
};

/** A Db whose write() commits nothing when `fail()` says so: the unit runs, then throws. */
function failingAfterUnit(db: Db, fail: () => boolean): Db {
  return { ...db, adapter: db.adapter, stats: db.stats, location: db.location, write: (fn) => db.write(async (tx) => {
    const r = await fn(tx);
    if (fail()) throw new Error('injected crash after the batch, before COMMIT');
    return r;
  }) };
}

const entryIds = (db: Db) => db.read((tx) => tx.selectFrom('audit_entries').select(['idx', 'event_id']).orderBy('idx').execute());

describe.each(DIALECTS)('audit log storage on %s', (dialect) => {
  let env: TestEnv;
  const dbs: Db[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
    await env?.cleanup();
  });

  async function fresh(): Promise<Db> {
    env = await testEnv(dialect);
    const db = open(env);
    dbs.push(db);
    await db.migrate();
    return db;
  }

  it("Custos's own connection cannot UPDATE, DELETE or TRUNCATE entries, nodes, checkpoints or prune floors", async () => {
    const db = await fresh();
    await record(db, 20); // 20 entries: one stored node (level 4 covers 16 leaves)
    await sequencer(db).tick({ checkpoint: true });
    const refused = async (what: string, fn: (tx: Parameters<Parameters<Db['write']>[0]>[0]) => Promise<unknown>) => {
      const error = await db.write(fn).then(() => undefined, (e: unknown) => e);
      expect(error, what).toBeDefined();
      expect(db.adapter.isAppendOnlyViolation(error), `${what}: ${String((error as Error).message)}`).toBe(true);
    };
    await refused('update entry', (tx) => tx.updateTable('audit_entries').set({ event: '{}' }).where('idx', '=', 1).execute());
    await refused('delete entry', (tx) => tx.deleteFrom('audit_entries').where('idx', '=', 1).execute());
    await refused('update node', (tx) => tx.updateTable('audit_nodes').set({ hash: Buffer.alloc(32) }).execute());
    await refused('delete node', (tx) => tx.deleteFrom('audit_nodes').execute());
    await refused('update checkpoint', (tx) => tx.updateTable('audit_checkpoints').set({ note: 'x' }).execute());
    await refused('delete checkpoint', (tx) => tx.deleteFrom('audit_checkpoints').execute());
    if (dialect === 'postgres') {
      for (const table of ['audit_entries', 'audit_nodes', 'audit_checkpoints', 'audit_prune_floors']) {
        await refused(`truncate ${table}`, (tx) => sql.raw(`TRUNCATE ${table}`).execute(tx));
      }
      // No direct floor rows either: only the owner's guarded prune function writes them.
      await refused('insert floor', (tx) => tx.insertInto('audit_prune_floors').values({ floor_index: 1, cutoff: new Date(0).toISOString(), retention_days: 365, archive_sha256: 'x', created_at: new Date().toISOString() }).execute());
    }
    const result = await verifyStoredLog(db, { verifier: KEY.verifier, origin: ORIGIN });
    expect(result.ok).toBe(true);
  });

  it('the database refuses a prune of entries younger than the retention, or without their leaf hashes kept', async () => {
    const db = await fresh();
    await record(db, 6);
    await sequencer(db).tick({ checkpoint: true });
    const request = { floor: 4, before: new Date().toISOString(), retentionDays: 365, archiveSha256: 'ab', createdAt: new Date().toISOString() };
    const error = await db.write((tx) => db.adapter.audit.prune(tx, request)).then(() => undefined, (e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/past retention/);
    const short = await db.write((tx) => db.adapter.audit.prune(tx, { ...request, retentionDays: 30 })).then(() => undefined, (e: unknown) => e);
    expect(short).toBeDefined();
    expect((await entryIds(db)).length).toBe(6);
  });

  it('a crash after a batch, before its COMMIT, loses and duplicates nothing', async () => {
    const base = await fresh();
    let crash = true;
    const db = failingAfterUnit(base, () => crash);
    await record(base, 120);
    const seq = sequencer(db, 50);
    await expect(seq.tick({ checkpoint: true })).rejects.toThrow(/injected crash/);
    expect(await entryIds(base)).toEqual([]);
    crash = false;
    const r = await seq.tick({ checkpoint: true });
    expect(r.integrated).toBe(120);
    const ids = await entryIds(base);
    expect(ids.map((e) => e.idx)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(new Set(ids.map((e) => e.event_id)).size).toBe(120);
    expect(await base.read((tx) => tx.selectFrom('audit_outbox').select('seq').execute())).toEqual([]);
    expect((await verifyStoredLog(base, { verifier: KEY.verifier, origin: ORIGIN })).ok).toBe(true);
  });

  it('two sequencers in two processes-worth of connections never sequence the same row twice', async () => {
    const a = await fresh();
    const b = open(env);
    dbs.push(b);
    const seqA = sequencer(a, 25);
    const seqB = sequencer(b, 25);
    const writes = Promise.all(Array.from({ length: 6 }, (_, round) => record(round % 2 ? a : b, 40, `r${round}`)));
    const racing = (async () => {
      for (let i = 0; i < 30; i++) await Promise.all([seqA.tick(), seqB.tick()]);
    })();
    await Promise.all([writes, racing]);
    await seqA.tick({ checkpoint: true });
    await seqB.tick({ checkpoint: true });
    const ids = await entryIds(a);
    expect(ids.map((e) => e.idx)).toEqual(Array.from({ length: 240 }, (_, i) => i));
    expect(new Set(ids.map((e) => e.event_id)).size).toBe(240);
    const result = await verifyStoredLog(b, { verifier: KEY.verifier, origin: ORIGIN });
    expect(result).toMatchObject({ ok: true, size: 240, checkpointSize: 240 });
  });

  it('serves the forwarders: consecutive entries after an index, the newest index and checkpoint', async () => {
    const db = await fresh();
    const source = createLogSource(db);
    expect(await source.latestIndex()).toBe(-1);
    expect(await source.latestCheckpoint()).toBeUndefined();
    await record(db, 30);
    await sequencer(db, 7).tick({ checkpoint: true });
    expect(await source.latestIndex()).toBe(29);
    const cp = await source.latestCheckpoint();
    expect(cp?.size).toBe(30);
    expect(cp?.note.startsWith(`${ORIGIN}\n30\n`)).toBe(true);
    const page = await source.entriesAfter(9, 8);
    expect(page.map((e) => e.index)).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    const { leafHash } = await import('../src/audit/log/index.js');
    for (const e of page) expect(leafHash(Buffer.from(e.eventJson)).toString('base64')).toBe(e.leafHash);
    expect(await source.entriesAfter(-1, 1000)).toHaveLength(30);
    expect(await source.entriesAfter(29, 10)).toEqual([]);
  });

  it('the scheduled verification records its result as an audit event, and only one process claims a slot', async () => {
    const db = await fresh();
    const audit = createAuditRecorder({ db, clock: systemClock });
    await record(db, 10);
    await sequencer(db).tick({ checkpoint: true });
    const job = createVerifyJob({ db, audit, verifiers: async () => [KEY.verifier], origin: ORIGIN, clock: systemClock, intervalHours: 24, firstCheckMs: 1 });
    const other = createVerifyJob({ db, audit, verifiers: async () => [KEY.verifier], origin: ORIGIN, clock: systemClock, intervalHours: 24, firstCheckMs: 1 });
    job.start();
    other.start();
    const events = async () =>
      (await db.read((tx) => tx.selectFrom('audit_outbox').select(['event', 'outcome']).where('action', '=', 'audit.verify').execute()));
    for (let i = 0; i < 100 && (await events()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    job.stop();
    other.stop();
    const found = await events();
    expect(found).toHaveLength(1);
    expect(found[0]!.outcome).toBe('success');
    expect(JSON.parse(found[0]!.event).unmapped).toMatchObject({ size: 10, checkpointSize: 10 });
  });
});
