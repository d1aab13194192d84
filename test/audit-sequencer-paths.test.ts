/**
 * The sequencer's two ways of moving outbox rows into the log: runs of
 * consecutive seqs moved inside the database (INSERT … SELECT, range DELETE),
 * and the row-by-row path for rows written before migration 0004. Gaps in
 * the seqs, a lower seq committing after a higher one was sequenced, both
 * paths agreeing, and a run that does not move exactly the rows read.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Insertable, Selectable } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointKey, createAuditRecorder, signerFromPrivateKey, verifyStoredLog } from '../src/audit/index.js';
import { inclusionProof, leafHash, MemoryTree, rootAt } from '../src/audit/log/index.js';
import { seqRuns } from '../src/audit/sequencer/batch.js';
import { createSequencer } from '../src/audit/sequencer/index.js';
import { nodeReader } from '../src/audit/store.js';
import { packOutboxEvents, unpackOutboxEvents } from '../src/db/dialects/outbox-audit.js';
import { openDatabase, type Db } from '../src/db/index.js';
import type { AuditOutboxTable } from '../src/db/types.js';
import { systemClock } from '../src/shared/clock.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';

const ORIGIN = 'paths.test/audit';
const KEY = checkpointKey(ORIGIN, signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey));
type OutboxRow = Selectable<AuditOutboxTable>;

function sequencer(db: Db, batchSize: number) {
  return createSequencer({ db, key: async () => KEY, origin: ORIGIN, batchSize, pollMs: 20, checkpointIntervalMs: 0, now: () => new Date() });
}

/** Records `n` events (non-ASCII in them, so byte and character lengths differ), takes them out of the outbox and returns the rows. */
async function eventRows(db: Db, n: number): Promise<OutboxRow[]> {
  const audit = createAuditRecorder({ db, clock: systemClock });
  for (let i = 0; i < n; i++) {
    await audit.recordAlone(systemContext('paths-test'), {
      classUid: 6003,
      activityId: 99,
      action: 'test.paths',
      kind: 'system',
      outcome: i % 3 === 0 ? 'failure' : 'success',
      tenantId: i % 2 ? '01900000-0000-7000-8000-000000000001' : null,
      target: i % 4 ? { type: 'thing', id: `t-${i}` } : undefined,
      details: { i, note: `é€😀 ${'x'.repeat(i % 7)}` },
    });
  }
  const rows = await db.read((tx) => tx.selectFrom('audit_outbox').selectAll().orderBy('seq').execute());
  await db.write((tx) => tx.deleteFrom('audit_outbox').execute());
  return rows;
}

/** Puts `rows` back into the outbox under `seqs`; `legacy` drops the filter columns (as rows written before migration 0004). */
async function putBack(db: Db, rows: readonly OutboxRow[], seqs: readonly number[], legacy = false): Promise<void> {
  await db.write(async (tx) => {
    for (const [i, r] of rows.entries()) {
      const row: Insertable<AuditOutboxTable> = { ...r, seq: seqs[i] as number };
      if (legacy) Object.assign(row, { action: null, actor_type: null, actor_id: null, target_type: null, target_id: null, outcome: null });
      await tx.insertInto('audit_outbox').values(row).execute();
    }
  });
}

/** `db` with the dialect's moveOutboxRun counted (and its result passed through `alter`). */
function counting(db: Db, alter: (r: { inserted: number; deleted: number }, call: number) => { inserted: number; deleted: number } = (r) => r) {
  const audit = db.adapter.audit;
  const runs: Array<[number, number]> = [];
  const wrapped: Db = {
    ...db,
    adapter: { ...db.adapter, audit: { ...audit, moveOutboxRun: async (tx, run) => (runs.push([run.first, run.last]), alter(await audit.moveOutboxRun(tx, run), runs.length)) } },
  };
  return { db: wrapped, runs };
}

const entries = (db: Db) => db.read((tx) => tx.selectFrom('audit_entries').selectAll().orderBy('idx').execute());

/** Consecutive indexes, each entry's leaf hash over its stored text, proofs from the stored nodes, the log verifies, the outbox is empty. */
async function expectSoundLog(db: Db, eventIds: readonly string[]): Promise<void> {
  const rows = await entries(db);
  expect(rows.map((e) => e.idx)).toEqual(eventIds.map((_, i) => i));
  expect(rows.map((e) => e.event_id)).toEqual(eventIds);
  for (const e of rows) expect(Buffer.from(e.leaf_hash).equals(leafHash(Buffer.from(e.event, 'utf8')))).toBe(true);
  const mem = new MemoryTree();
  mem.appendLeafHashes(rows.map((e) => e.leaf_hash));
  await db.read(async (tx) => {
    const reader = nodeReader(tx);
    for (const size of [1, Math.ceil(rows.length / 2), rows.length]) {
      expect((await rootAt(reader, size)).equals(await mem.root(size))).toBe(true);
      expect(await inclusionProof(reader, size - 1, rows.length)).toEqual(await mem.inclusionProof(size - 1, rows.length));
    }
  });
  expect(await db.read((tx) => tx.selectFrom('audit_outbox').select('seq').execute())).toEqual([]);
  expect(await verifyStoredLog(db, { verifier: KEY.verifier, origin: ORIGIN })).toMatchObject({ ok: true, size: rows.length });
}

describe('sequencer runs (pure)', () => {
  it('seqRuns splits at every gap and refuses seqs that do not ascend', () => {
    expect(seqRuns([])).toEqual([]);
    expect(seqRuns([4])).toEqual([[0, 1]]);
    expect(seqRuns([1, 2, 3, 7, 8, 10])).toEqual([[0, 3], [3, 5], [5, 6]]);
    expect(() => seqRuns([1, 3, 2])).toThrow(/out of order/);
    expect(() => seqRuns([1, 1])).toThrow(/out of order/);
  });

  it('an outbox aggregate whose columns disagree is refused, and packing rows gives the aggregate shape', () => {
    const packed = packOutboxEvents([
      { seq: 3, event: '{"a":"é"}', filtered: true },
      { seq: 5, event: '{}', filtered: true },
    ]);
    expect(packed.seqs).toEqual([3, 5]);
    expect(packed.ends).toEqual([11, 14]);
    expect(packed.data.subarray(1, 11).toString('utf8')).toBe('{"a":"é"}');
    const row = { n: 2, filtered: 1, seqs: '3,5', lens: '10,2', data: Buffer.from(' {"a":"é"} {}') };
    expect(unpackOutboxEvents(row)).toEqual(packed);
    expect(() => unpackOutboxEvents({ ...row, lens: '9,2' })).toThrow(/inconsistent/);
    expect(() => unpackOutboxEvents({ ...row, seqs: '3' })).toThrow(/inconsistent/);
    expect(() => unpackOutboxEvents({ ...row, n: 3 })).toThrow(/inconsistent/);
  });
});

describe.each(DIALECTS)('sequencer paths on %s', (dialect) => {
  const envs: TestEnv[] = [];
  const dbs: Db[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
    for (const env of envs.splice(0)) await env.cleanup();
  });

  async function fresh(): Promise<Db> {
    const env = await testEnv(dialect);
    envs.push(env);
    const db = openDatabase({ dataDir: env.dataDir, databaseUrl: env.config.databaseUrl, appRole: env.config.database.appRole, poolSize: 4, groupCommitMax: 64 });
    dbs.push(db);
    await db.migrate();
    return db;
  }

  it('seqs with gaps, batches across them: consecutive indexes in seq order, exactly the rows read moved', async () => {
    const db = await fresh();
    const rows = await eventRows(db, 40);
    let at = 100;
    const seqs = rows.map((_, i) => (at += (i % 5 === 0 ? 3 : 1) + (i === 21 ? 50 : 0)));
    await putBack(db, rows, seqs);
    const spy = counting(db);
    const r = await sequencer(spy.db, 9).tick({ checkpoint: true });
    expect(r.integrated).toBe(40);
    // Batches of 9 seqs, each split at its gaps: every run is consecutive and the runs cover every seq once.
    expect(spy.runs.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, k) => a + k))).toEqual(seqs);
    expect(spy.runs.length).toBeGreaterThan(Math.ceil(40 / 9));
    await expectSoundLog(db, rows.map((x) => x.event_id));
  });

  it('a lower seq that arrives after a higher one was sequenced takes the next index', async () => {
    const db = await fresh();
    const rows = await eventRows(db, 12);
    const seq = sequencer(db, 5);
    await putBack(db, rows.slice(0, 6), [20, 21, 22, 24, 25, 26]);
    expect((await seq.tick()).integrated).toBe(6);
    // 23 and 10 "commit late"; 27 is new.
    await putBack(db, rows.slice(6, 9), [10, 23, 27]);
    expect((await seq.tick()).integrated).toBe(3);
    await putBack(db, rows.slice(9), [11, 12, 28]);
    expect((await seq.tick({ checkpoint: true })).integrated).toBe(3);
    await expectSoundLog(db, rows.map((x) => x.event_id));
  });

  it.skipIf(dialect !== 'postgres')('a transaction that took a lower seq and commits late is sequenced after the higher one (PostgreSQL only: SQLite has one writer)', async () => {
    const db = await fresh();
    const audit = createAuditRecorder({ db, clock: systemClock });
    const input = { classUid: 6003, activityId: 99, action: 'test.late', kind: 'system', outcome: 'success' } as const;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let recorded!: () => void;
    const inFlight = new Promise<void>((resolve) => (recorded = resolve));
    const late = db.write(async (tx) => {
      const e = await audit.record(tx, systemContext('late'), { ...input, details: { who: 'late' } });
      recorded();
      await gate;
      return e;
    });
    await inFlight;
    const early = await audit.recordAlone(systemContext('early'), { ...input, details: { who: 'early' } });
    const seq = sequencer(db, 50);
    expect((await seq.tick()).integrated).toBe(1);
    release();
    const lateEvent = await late;
    expect((await seq.tick({ checkpoint: true })).integrated).toBe(1);
    const ids = (e: Record<string, unknown>) => (e.metadata as { uid: string }).uid;
    await expectSoundLog(db, [ids(early), ids(lateEvent)]);
  });

  it('rows without filter columns (written before migration 0004) take the row-by-row path, alone or mixed with newer rows', async () => {
    const db = await fresh();
    const rows = await eventRows(db, 24);
    await putBack(db, rows.slice(0, 8), [1, 2, 3, 4, 5, 6, 7, 8], true);
    await putBack(db, rows.slice(8, 16), [9, 10, 11, 12, 13, 14, 15, 16]);
    await putBack(db, rows.slice(16, 17), [17], true);
    await putBack(db, rows.slice(17), [18, 19, 20, 21, 22, 23, 24]);
    expect((await sequencer(db, 6).tick({ checkpoint: true })).integrated).toBe(24);
    await expectSoundLog(db, rows.map((x) => x.event_id));
  });

  it('the in-database path and the row-by-row path store the same entries, nodes and checkpoint roots', async () => {
    const fast = await fresh();
    const slow = await fresh();
    const rows = await eventRows(fast, 37);
    const seqs = rows.map((_, i) => i + 1);
    await putBack(fast, rows, seqs);
    await putBack(slow, rows, seqs, true);
    const fastSpy = counting(fast);
    const slowSpy = counting(slow);
    await sequencer(fastSpy.db, 10).tick({ checkpoint: true });
    await sequencer(slowSpy.db, 10).tick({ checkpoint: true });
    expect(fastSpy.runs).toEqual([[1, 10], [11, 20], [21, 30], [31, 37]]);
    expect(slowSpy.runs).toEqual([]);
    const norm = (e: Awaited<ReturnType<typeof entries>>) => e.map((x) => ({ ...x, leaf_hash: Buffer.from(x.leaf_hash).toString('hex') }));
    expect(norm(await entries(fast))).toEqual(norm(await entries(slow)));
    const nodes = (db: Db) => db.read((tx) => tx.selectFrom('audit_nodes').select(['level', 'idx', 'hash']).orderBy('level').orderBy('idx').execute());
    expect((await nodes(fast)).map((n) => [n.level, n.idx, Buffer.from(n.hash).toString('hex')])).toEqual(
      (await nodes(slow)).map((n) => [n.level, n.idx, Buffer.from(n.hash).toString('hex')]),
    );
    const roots = (db: Db) => db.read((tx) => tx.selectFrom('audit_checkpoints').select(['size', 'root']).orderBy('size').execute());
    expect((await roots(fast)).map((c) => [c.size, Buffer.from(c.root).toString('hex')])).toEqual((await roots(slow)).map((c) => [c.size, Buffer.from(c.root).toString('hex')]));
    await expectSoundLog(fast, rows.map((x) => x.event_id));
  });

  it('a run that does not move exactly the rows read rolls the whole batch back (AUDIT_LOG_INCONSISTENT)', async () => {
    const db = await fresh();
    const rows = await eventRows(db, 10);
    await putBack(db, rows, [1, 2, 3, 5, 6, 7, 8, 9, 10, 11]);
    const lying = counting(db, (r, call) => (call === 2 ? { ...r, deleted: 0 } : r));
    await expect(sequencer(lying.db, 50).tick({ checkpoint: true })).rejects.toMatchObject({ code: 'AUDIT_LOG_INCONSISTENT' });
    expect(await entries(db)).toEqual([]);
    expect((await db.read((tx) => tx.selectFrom('audit_outbox').select('seq').orderBy('seq').execute())).map((r) => r.seq)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10, 11]);
    expect(await db.read((tx) => tx.selectFrom('audit_nodes').select('idx').execute())).toEqual([]);
    expect((await sequencer(db, 50).tick({ checkpoint: true })).integrated).toBe(10);
    await expectSoundLog(db, rows.map((x) => x.event_id));
  });
});
