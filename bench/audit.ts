import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, hash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { checkpointKey, createAuditRecorder, signerFromPrivateKey, verifyStoredLog, type CheckpointKey } from '../src/audit/index.js';
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

/**
 * Raw SHA-256 of every leaf input (0x00 ‖ the event's bytes as stored) of the
 * log, read straight from the file page by page (not timed), hashed the
 * fastest way one call per input allows, in one thread: per page the best of
 * three passes (wall and CPU), summed over the pages; plus the same bytes as
 * one stream, for scale.
 */
function rawLeafHashing(file: string, n: number): { bytes: number; wall: number; cpu: number; stream: number } {
  const db = new BetterSqlite3(file, { readonly: true });
  const page = db.prepare('SELECT CAST(event AS BLOB) FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx').raw(true);
  const total = { bytes: 0, wall: 0, cpu: 0, stream: 0 };
  const stream = createHash('sha256');
  for (let from = 0; from < n; from += 20_000) {
    const inputs = (page.all(from, from + 20_000) as Array<[Buffer]>).map(([e]) => Buffer.concat([Buffer.from([0]), e]));
    let wall = Infinity;
    let cpu = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const b of inputs) hash('sha256', b, 'binary');
      wall = Math.min(wall, performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu = Math.min(cpu, c.user + c.system);
    }
    const t1 = performance.now();
    for (const b of inputs) stream.update(b);
    total.stream += performance.now() - t1;
    total.wall += wall;
    total.cpu += cpu;
    total.bytes += inputs.reduce((sum, x) => sum + x.length, 0);
  }
  stream.digest();
  db.close();
  return { bytes: total.bytes, wall: total.wall / 1000, cpu: total.cpu / n, stream: total.stream / 1000 };
}

/** Entries in the log verify is measured on: large enough that starting worker threads (~0.1 s of CPU each) does not dominate. */
const VERIFY_ENTRIES = 500_000;

/**
 * Grows the log to `target` entries, fast: copies of the entries already
 * there (each with a fresh event id, in its column and in the event) go
 * into the outbox with one INSERT … SELECT per round, and the sequencer
 * integrates them at its own cadence (a checkpoint every 500 ms, and one at
 * the end). Returns the checkpoint count.
 */
async function growLog(db: Db, key: CheckpointKey, have: number, target: number): Promise<number> {
  const cols = 'recorded_at, tenant_id, class_uid, activity_id, action, actor_type, actor_id, target_type, target_id, outcome';
  for (let next = have; next < target; ) {
    const take = Math.min(have, target - next);
    const id = `substr(event_id, 1, 24) || printf('%012x', ${next} + idx)`;
    await db.write((tx) =>
      sql.raw(`INSERT INTO audit_outbox (event_id, event, ${cols}) SELECT ${id}, replace(event, event_id, ${id}), ${cols} FROM audit_entries WHERE idx < ${take} ORDER BY idx`).execute(tx),
    );
    next += take;
  }
  const seq = createSequencer({ db, key: async () => key, origin: ORIGIN, batchSize: 1000, pollMs: 100, checkpointIntervalMs: 500, now: () => new Date() });
  await seq.tick();
  await seq.tick({ checkpoint: true });
  return Number((await db.read((tx) => tx.selectFrom('audit_checkpoints').select((eb) => eb.fn.countAll().as('c')).executeTakeFirst()))?.c);
}

/** What one verify mode measured: best wall seconds and CPU µs per entry of the whole process (every thread), threads used. */
interface VerifyRun {
  readonly wall: number;
  readonly cpu: number;
  readonly threads: number;
}

/**
 * The child that verifies as the CLI does: plain Node on the built dist/, no
 * TypeScript loader (under one, every module a worker thread loads also goes
 * through the loader's hooks thread, which costs more than the worker).
 * Best of `reps` runs of verifyStoredLog (timed alone, not the process
 * start); prints the measures as JSON.
 */
const VERIFY_CHILD = `
const a = JSON.parse(process.env.CUSTOS_BENCH_VERIFY);
const { verifyStoredLog } = await import(a.dist + '/src/audit/verify/stored.js');
const { parseVerifierKey } = await import(a.dist + '/src/audit/log/note.js');
const { openDatabase } = await import(a.dist + '/src/db/index.js');
const db = openDatabase({ dataDir: a.dir, appRole: 'custos_app', poolSize: 1, groupCommitMax: 256 });
const verifier = parseVerifierKey(a.vkey);
const out = { wall: Infinity, cpu: Infinity, threads: 0 };
for (let r = 0; r < a.reps; r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const v = await verifyStoredLog(db, { verifier, origin: a.origin, source: { dialect: 'sqlite', file: a.file }, threads: a.threads ?? undefined });
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  if (!v.ok || v.size !== a.n) throw new Error('bench log does not verify: ' + (v.ok ? 'size ' + v.size : v.reason));
  out.wall = Math.min(out.wall, wall);
  out.cpu = Math.min(out.cpu, (c.user + c.system) / a.n);
  out.threads = v.threads;
}
await db.close();
console.log(JSON.stringify(out));
`;

/**
 * verifyStoredLog as the CLI runs it, best of three child processes on the
 * built dist/ (built here incrementally, as the test setup does); in this
 * process from the sources when nothing was emitted.
 */
async function verifyAsCli(db: Db, args: { dir: string; file: string; key: CheckpointKey; n: number; threads: number | undefined }): Promise<VerifyRun & { from: string }> {
  const root = path.resolve(import.meta.dirname, '..');
  spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  const dist = path.join(root, 'dist');
  if (existsSync(path.join(dist, 'src/audit/verify/stored.js'))) {
    const env = { ...process.env, CUSTOS_BENCH_VERIFY: JSON.stringify({ dir: args.dir, file: args.file, n: args.n, threads: args.threads ?? null, dist: pathToFileURL(dist).href, vkey: args.key.verifierKey, origin: ORIGIN, reps: 1 }) };
    // A file, not --eval: worker threads inherit the flags (and --input-type breaks them).
    const script = path.join(args.dir, 'verify-child.mjs');
    writeFileSync(script, VERIFY_CHILD);
    // One verification per process, as a CLI run: its connections and their file mappings start cold each time.
    let out: VerifyRun = { wall: Infinity, cpu: Infinity, threads: 0 };
    for (let r = 0; r < 3; r++) {
      const child = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', env });
      if (child.status !== 0) throw new Error(`verify child: ${child.stderr}`);
      const m = JSON.parse(child.stdout) as VerifyRun;
      out = { wall: Math.min(out.wall, m.wall), cpu: Math.min(out.cpu, m.cpu), threads: m.threads };
    }
    return { ...out, from: 'dist/, plain node, one run per process' };
  }
  let out: VerifyRun = { wall: Infinity, cpu: Infinity, threads: 0 };
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const v = await verifyStoredLog(db, { verifier: args.key.verifier, origin: ORIGIN, source: { dialect: 'sqlite', file: args.file }, threads: args.threads });
    const c = process.cpuUsage(c0);
    if (!v.ok || v.size !== args.n) throw new Error('bench log does not verify');
    out = { wall: Math.min(out.wall, (performance.now() - t0) / 1000), cpu: Math.min(out.cpu, (c.user + c.system) / args.n), threads: v.threads };
  }
  return { ...out, from: 'sources (no dist/)' };
}

/**
 * Verify throughput beside its honest baseline, measured in the same run and
 * the same way (best of three) over the same log: one SHA-256 call per leaf
 * input, the bytes already in memory, with the fastest output form (what the
 * verifier uses too), in one thread. Verification cannot do less per entry:
 * read those bytes, make that call, one node hash, the checkpoints. Shown as
 * the CLI runs it (parts on one thread per core) and in one thread, each with
 * its wall rate and the CPU time per entry of the whole process (worker
 * threads included): trust the rates only at a low load average.
 */
async function benchVerify(db: Db, file: string, key: CheckpointKey, have: number): Promise<void> {
  const t0 = performance.now();
  const n = Math.max(have, VERIFY_ENTRIES);
  const cps = await growLog(db, key, have, n);
  const grown = (performance.now() - t0) / 1000;
  const dir = path.dirname(file);
  const [cli, one] = [await verifyAsCli(db, { dir, file, key, n, threads: undefined }), await verifyAsCli(db, { dir, file, key, n, threads: 1 })];
  const timings = [cli.wall, one.wall];
  const cpu = [cli.cpu, one.cpu];
  const threads = cli.threads;
  const from = cli.from;
  const raw = rawLeafHashing(file, n);
  const mb = raw.bytes / 1e6;
  const fmt = (s: number) => `${(n / s / 1000).toFixed(0)}k/s ${(mb / s).toFixed(0)}MB/s`;
  const labels = [`audit verify from storage, as the CLI (${threads > 0 ? `${threads} threads` : 'one thread'})`, '  one thread (--threads 1)'];
  header(`audit verify — ${n} entries, ${cps} checkpoints (log grown in ${grown.toFixed(1)} s), SQLite`);
  console.log(row(`raw SHA-256 of each leaf input, ${(raw.bytes / n).toFixed(0)} B, one thread (baseline)`, fmt(raw.wall)));
  labels.forEach((label, i) => console.log(row(label, fmt(timings[i] as number), fmt(raw.wall), raw.wall / (timings[i] as number))));
  console.log(row('  (for scale: the same bytes as one SHA-256 stream)', fmt(raw.stream)));
  const us = (c: number) => `${c.toFixed(2)} µs`;
  console.log(`  CPU per entry (all threads): verify as the CLI ${us(cpu[0] as number)}, one thread ${us(cpu[1] as number)}, raw SHA-256 ${us(raw.cpu)}; verifier code from ${from}`);
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

    await benchVerify(db, path.join(dir, 'custos.db'), key, n);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(baseDir, { recursive: true, force: true });
  }
}
