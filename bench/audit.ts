import { createHash, generateKeyPairSync, hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { checkpointKey, createAuditRecorder, signerFromPrivateKey, verifyStoredLog } from '../src/audit/index.js';
import type { NoteVerifier } from '../src/audit/log/index.js';
import { createSequencer } from '../src/audit/sequencer/index.js';
import { openDatabase, type Db } from '../src/db/index.js';
import { systemClock } from '../src/shared/clock.js';
import type { RequestContext } from '../src/shared/context.js';
import { header, row } from './lib.js';

const ORIGIN = 'bench.custos/audit';
const ctx: RequestContext = { actor: { type: 'user', id: '01900000-0000-7000-8000-000000000002', platformRoles: [] }, requestId: 'req-0123456789abcdef', sourceIp: '198.51.100.7' };

function open(dir: string): Db {
  return openDatabase({ dataDir: dir, appRole: 'custos_app', poolSize: 1, groupCommitMax: 256 });
}

/** Fills the outbox with `n` realistic events (about 600 bytes each), 1000 per transaction. */
async function fill(db: Db, n: number): Promise<void> {
  const audit = createAuditRecorder({ db, clock: systemClock });
  for (let done = 0; done < n; done += 1000) {
    await db.write(async (tx) => {
      for (let i = done; i < Math.min(n, done + 1000); i++) {
        await audit.record(tx, ctx, {
          classUid: 3004,
          activityId: 1,
          action: 'tenant.create',
          kind: 'change',
          outcome: 'success',
          tenantId: '01900000-0000-7000-8000-000000000000',
          target: { type: 'tenant', id: `01900000-0000-7000-8000-${String(i).padStart(12, '0')}` },
          details: { fields: ['name', 'slug'], count: 2 },
        });
      }
    });
  }
}

/** Baseline: the same entry rows inserted into the same table with a prepared statement, 1000 per transaction. */
function rawInsert(file: string, rows: Array<Record<string, unknown>>): number {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const cols = Object.keys(rows[0] as object);
  const stmt = db.prepare(`INSERT INTO audit_entries (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
  const batch = db.transaction((slice: Array<Record<string, unknown>>) => {
    for (const r of slice) stmt.run(r);
  });
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += 1000) batch(rows.slice(i, i + 1000));
  const s = (performance.now() - t0) / 1000;
  db.close();
  return rows.length / s;
}

/** Every leaf input (0x00 ‖ the event's bytes as stored), read straight from the file: what the verifier must hash. */
function leafInputs(file: string): Buffer[] {
  const db = new BetterSqlite3(file, { readonly: true });
  const rows = db.prepare('SELECT CAST(event AS BLOB) FROM audit_entries ORDER BY idx').raw(true).all() as Array<[Buffer]>;
  db.close();
  return rows.map(([e]) => Buffer.concat([Buffer.from([0]), e]));
}

/** Best of `reps` timings of `fn`, in seconds. */
async function best(reps: number, fn: () => unknown): Promise<number> {
  let s = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return s;
}

/**
 * Verify throughput beside its honest baseline, measured in the same run and
 * the same way (best of three): one SHA-256 call per leaf input, the bytes
 * already in memory, with the fastest output form (what the verifier uses
 * too). Verification cannot do less: it must read those bytes and make that
 * call for each entry, plus one node hash per entry and the checkpoints.
 * Shown as the CLI runs it (leaf worker only with a spare core), then each
 * way forced, with the load average: on a saturated box the worker cannot help.
 */
async function benchVerify(db: Db, file: string, verifier: NoteVerifier, n: number): Promise<void> {
  const modes = [['audit verify from storage (leaves, tree, checkpoints)', undefined], ['  one thread', false], ['  leaves hashed in a worker thread', true]] as const;
  const timings: number[] = [];
  for (const [, leafWorker] of modes) {
    timings.push(
      await best(3, async () => {
        const v = await verifyStoredLog(db, { verifier, origin: ORIGIN, leafWorker });
        if (!v.ok) throw new Error(`bench log does not verify: ${v.reason}`);
      }),
    );
  }
  const inputs = leafInputs(file);
  const bytes = inputs.reduce((sum, b) => sum + b.length, 0);
  const hashS = await best(3, () => {
    for (const b of inputs) hash('sha256', b, 'binary');
  });
  const streamS = await best(3, () => {
    const stream = createHash('sha256');
    for (const b of inputs) stream.update(b);
    stream.digest();
  });
  const mb = bytes / 1e6;
  const fmt = (s: number) => `${(n / s / 1000).toFixed(0)}k/s ${(mb / s).toFixed(0)}MB/s`;
  console.log(row(`raw SHA-256 of each leaf input, ${(bytes / n).toFixed(0)} B (baseline)`, fmt(hashS)));
  modes.forEach(([label], i) => console.log(row(label, fmt(timings[i] as number), fmt(hashS), hashS / (timings[i] as number))));
  console.log(row('  (for scale: the same bytes as one SHA-256 stream)', fmt(streamS)));
  console.log(`  load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`);
}

/** Issue 5: sequencer and verifier throughput on SQLite, each beside a baseline measured in the same run. */
export async function benchAudit(seconds: number): Promise<void> {
  const n = Math.max(20_000, Math.min(200_000, seconds * 10_000));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-audit-'));
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-audit-raw-'));
  try {
    const db = open(dir);
    await db.migrate();
    await fill(db, n);
    const key = checkpointKey(ORIGIN, signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey));
    const seq = createSequencer({ db, key: async () => key, origin: ORIGIN, batchSize: 1000, pollMs: 100, checkpointIntervalMs: 500, now: () => new Date() });
    const t0 = performance.now();
    const r = await seq.tick({ checkpoint: true });
    const seqRate = r.integrated / ((performance.now() - t0) / 1000);
    const cps = Number((await db.read((tx) => tx.selectFrom('audit_checkpoints').select((eb) => eb.fn.countAll().as('c')).executeTakeFirst()))?.c);

    const rows = await db.read((tx) => tx.selectFrom('audit_entries').selectAll().orderBy('idx').execute());
    const base = open(baseDir);
    await base.migrate();
    await base.close();
    const rawRate = rawInsert(path.join(baseDir, 'custos.db'), rows.map((x) => ({ ...x, leaf_hash: Buffer.from(x.leaf_hash) })));

    header(`audit — ${n} events of ~${Math.round(rows.reduce((s, x) => s + x.event.length, 0) / n)} bytes, SQLite (entries/s)`);
    console.log(row('raw batched SQLite insert of the same entry rows (baseline)', rawRate.toFixed(0)));
    console.log(row(`sequencer: outbox → entries, nodes, ${cps} checkpoints`, seqRate.toFixed(0), rawRate.toFixed(0), seqRate / rawRate));

    await benchVerify(db, path.join(dir, 'custos.db'), key.verifier, n);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(baseDir, { recursive: true, force: true });
  }
}
