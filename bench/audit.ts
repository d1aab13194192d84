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
import { SQLITE_ENTRY_RUN } from '../src/db/dialects/sqlite-audit-reader.js';
import { openDatabase, type Db } from '../src/db/index.js';
import { systemClock } from '../src/shared/clock.js';
import type { RequestContext } from '../src/shared/context.js';
import { bestOf, verifyFloor, type ProcessRun } from './audit-floor.js';
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

/** The leaf inputs (0x00 ‖ the event's bytes as stored) of the log, page by page, read straight from the file. */
function leafInputs(file: string, n: number): Buffer[][] {
  const db = new BetterSqlite3(file, { readonly: true });
  const page = db.prepare('SELECT CAST(event AS BLOB) FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx').raw(true);
  const pages: Buffer[][] = [];
  for (let from = 0; from < n; from += 20_000) pages.push((page.all(from, from + 20_000) as Array<[Buffer]>).map(([e]) => Buffer.concat([Buffer.from([0]), e])));
  db.close();
  return pages;
}

/** Best (wall ms, CPU µs) of each page so far, and the bytes: the baseline is their sums. */
interface RawHashing {
  readonly wall: number[];
  readonly cpu: number[];
  bytes: number;
}

/**
 * One pass of raw SHA-256 over every leaf input, one call per input (the
 * fastest way one call per input allows), in one thread, keeping each
 * page's best wall and CPU time over the passes.
 */
function rawHashPass(pages: readonly Buffer[][], best: RawHashing): void {
  best.bytes = 0;
  pages.forEach((inputs, k) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const b of inputs) hash('sha256', b, 'binary');
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    best.wall[k] = Math.min(best.wall[k] ?? Infinity, wall);
    best.cpu[k] = Math.min(best.cpu[k] ?? Infinity, c.user + c.system);
    best.bytes += inputs.reduce((sum, x) => sum + x.length, 0);
  });
}

/** The same bytes as one SHA-256 stream (for scale), in seconds. */
function streamHash(pages: readonly Buffer[][]): number {
  const stream = createHash('sha256');
  const t0 = performance.now();
  for (const inputs of pages) for (const b of inputs) stream.update(b);
  stream.digest();
  return (performance.now() - t0) / 1000;
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

/**
 * The child that verifies as the CLI does: plain Node on the built dist/, no
 * TypeScript loader (under one, every module a worker thread loads also goes
 * through the loader's hooks thread, which costs more than the worker).
 * Like the CLI it starts its workers first, then opens the database (the
 * CLI also opens the keyring there, so its workers have longer to start),
 * then times verifyStoredLog alone (not the process start); prints the
 * measures as JSON.
 */
const VERIFY_CHILD = `
const a = JSON.parse(process.env.CUSTOS_BENCH_VERIFY);
const { verifyStoredLog, largeLogThreads } = await import(a.dist + '/src/audit/verify/stored.js');
const { startVerifyCrew } = await import(a.dist + '/src/audit/verify/crew.js');
const { parseVerifierKey } = await import(a.dist + '/src/audit/log/note.js');
const { openDatabase } = await import(a.dist + '/src/db/index.js');
const source = { dialect: 'sqlite', file: a.file };
const crew = startVerifyCrew(source, largeLogThreads(a.threads ?? undefined) - 1);
const db = openDatabase({ dataDir: a.dir, appRole: 'custos_app', poolSize: 1, groupCommitMax: 256 });
const verifier = parseVerifierKey(a.vkey);
const c0 = process.cpuUsage();
const t0 = performance.now();
const v = await verifyStoredLog(db, { verifier, origin: a.origin, source, threads: a.threads ?? undefined, crew });
const wall = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
if (!v.ok || v.size !== a.n) throw new Error('bench log does not verify: ' + (v.ok ? 'size ' + v.size : v.reason));
await crew.close();
await db.close();
console.log(JSON.stringify({ wall, cpu: (c.user + c.system) / a.n, threads: v.threads }));
`;

/**
 * One verification of the log as the CLI runs it, in a child process on the
 * built dist/ (built here incrementally, as the test setup does): one run per
 * process, so connections and file mappings start cold each time; in this
 * process from the sources when nothing was emitted.
 */
function verifyRunner(db: Db, args: { dir: string; file: string; key: CheckpointKey; n: number }): { from: string; run(threads: number | undefined): Promise<ProcessRun> } {
  const root = path.resolve(import.meta.dirname, '..');
  spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  const dist = path.join(root, 'dist');
  if (existsSync(path.join(dist, 'src/audit/verify/crew.js'))) {
    // A file, not --eval: worker threads inherit the flags (and --input-type breaks them).
    const script = path.join(args.dir, 'verify-child.mjs');
    writeFileSync(script, VERIFY_CHILD);
    return {
      from: 'dist/, plain node, one run per process',
      async run(threads) {
        const spec = { dir: args.dir, file: args.file, n: args.n, threads: threads ?? null, dist: pathToFileURL(dist).href, vkey: args.key.verifierKey, origin: ORIGIN };
        const child = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', env: { ...process.env, CUSTOS_BENCH_VERIFY: JSON.stringify(spec) } });
        if (child.status !== 0) throw new Error(`verify child: ${child.stderr}`);
        return JSON.parse(child.stdout) as ProcessRun;
      },
    };
  }
  return {
    from: 'sources (no dist/)',
    async run(threads) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const v = await verifyStoredLog(db, { verifier: args.key.verifier, origin: ORIGIN, source: { dialect: 'sqlite', file: args.file }, threads });
      const c = process.cpuUsage(c0);
      if (!v.ok || v.size !== args.n) throw new Error('bench log does not verify');
      return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / args.n, threads: v.threads };
    },
  };
}

const ROUNDS = 3;

/**
 * Verify throughput beside its honest baseline, measured in the same run over
 * the same log: one SHA-256 call per leaf input, the bytes already in memory,
 * with the fastest output form (what the verifier uses too), in one thread,
 * per page of 20,000 inputs the best of ROUNDS passes, summed. Verification
 * cannot do less per entry: read those bytes, make that call, one node hash,
 * the checkpoints. Shown as the CLI runs it (parts on one thread per core)
 * and in one thread, each the best of ROUNDS processes, with its wall rate
 * and the CPU time per entry of the whole process (worker threads included).
 * The rounds interleave (verify as the CLI, one thread, a baseline pass), so
 * a machine that speeds up or slows down during the run weighs on all three
 * alike; trust the rates only at a low load average.
 */
async function benchVerify(db: Db, file: string, key: CheckpointKey, have: number): Promise<void> {
  const t0 = performance.now();
  const n = Math.max(have, VERIFY_ENTRIES);
  const cps = await growLog(db, key, have, n);
  const grown = (performance.now() - t0) / 1000;
  const runner = verifyRunner(db, { dir: path.dirname(file), file, key, n });
  const pages = leafInputs(file, n);
  const raw: RawHashing = { wall: [], cpu: [], bytes: 0 };
  const best: ProcessRun[] = [0, 1].map(() => ({ wall: Infinity, cpu: Infinity, threads: 0 }));
  // The floor on as many threads as verify uses by default (one per core, at most 8: verify/stored.ts).
  const floorThreads = Math.min(os.availableParallelism(), 8);
  const floorRun = verifyFloor(path.dirname(file), file, n, SQLITE_ENTRY_RUN);
  let floor: ProcessRun = { wall: Infinity, cpu: Infinity, threads: floorThreads };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, threads] of [undefined, 1].entries()) best[i] = bestOf(best[i] as ProcessRun, await runner.run(threads));
    floor = bestOf(floor, floorRun(floorThreads));
    rawHashPass(pages, raw);
  }
  const rawWall = raw.wall.reduce((a, b) => a + b, 0) / 1000;
  const rawCpu = raw.cpu.reduce((a, b) => a + b, 0) / n;
  const [cli, one] = best as [ProcessRun, ProcessRun];
  const mb = raw.bytes / 1e6;
  const fmt = (s: number) => `${(n / s / 1000).toFixed(0)}k/s ${(mb / s).toFixed(0)}MB/s`;
  header(`audit verify — ${n} entries, ${cps} checkpoints (log grown in ${grown.toFixed(1)} s), SQLite`);
  console.log(row(`raw SHA-256 of each leaf input, ${(raw.bytes / n).toFixed(0)} B, one thread (baseline)`, fmt(rawWall)));
  console.log(row(`audit verify from storage, as the CLI (${cli.threads > 0 ? `${cli.threads} threads` : 'one thread'})`, fmt(cli.wall), fmt(rawWall), rawWall / cli.wall));
  console.log(row('  one thread (--threads 1)', fmt(one.wall), fmt(rawWall), rawWall / one.wall));
  console.log(row(`floor: read + leaf and node hashes, no checks, ${floor.threads} threads (audit-floor.ts)`, fmt(floor.wall), fmt(rawWall), rawWall / floor.wall));
  console.log(row('  verify as the CLI, beside the floor', fmt(cli.wall), fmt(floor.wall), floor.wall / cli.wall));
  console.log(row('  (for scale: the same bytes as one SHA-256 stream)', fmt(streamHash(pages))));
  const us = (c: number) => `${c.toFixed(2)} µs`;
  console.log(
    `  CPU per entry (all threads): verify as the CLI ${us(cli.cpu)}, one thread ${us(one.cpu)}, floor ${us(floor.cpu)}, raw SHA-256 ${us(rawCpu)}; verifier code from ${runner.from}; best of ${ROUNDS} interleaved rounds; not counted: workers' start before the clock (verify and floor alike)`,
  );
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
