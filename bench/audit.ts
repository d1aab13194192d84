import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, hash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
 * verifyStoredLog as the CLI runs it: from the built dist/ (built here
 * incrementally, as the test setup does), so that its worker threads start
 * without a TypeScript loader; the sources' own when nothing was emitted.
 */
async function compiledVerifyStoredLog(): Promise<{ verify: typeof verifyStoredLog; from: string }> {
  const root = path.resolve(import.meta.dirname, '..');
  spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  const built = path.join(root, 'dist/src/audit/verify/stored.js');
  if (!existsSync(built)) return { verify: verifyStoredLog, from: 'sources (no dist/)' };
  return { verify: ((await import(pathToFileURL(built).href)) as { verifyStoredLog: typeof verifyStoredLog }).verifyStoredLog, from: 'dist/' };
}

/**
 * Verify throughput beside its honest baseline, measured in the same run and
 * the same way (best of three): one SHA-256 call per leaf input, the bytes
 * already in memory, with the fastest output form (what the verifier uses
 * too), in one thread. Verification cannot do less per entry: read those
 * bytes, make that call, one node hash, the checkpoints. Shown as the CLI
 * runs it (parts on one worker thread per core) and in one thread, each with
 * its wall rate and the CPU time per entry of the whole process (worker
 * threads included): trust the rates only at a low load average.
 */
async function benchVerify(db: Db, file: string, verifier: NoteVerifier, n: number): Promise<void> {
  const { verify, from } = await compiledVerifyStoredLog();
  const source = { dialect: 'sqlite', file } as const;
  const modes = [undefined, 1] as const;
  const timings: number[] = [];
  const cpu: number[] = [];
  let threads = 0;
  for (const mode of modes) {
    let cpuBest = Infinity;
    timings.push(
      await best(3, async () => {
        const c0 = process.cpuUsage();
        const v = await verify(db, { verifier, origin: ORIGIN, source, threads: mode });
        const c = process.cpuUsage(c0);
        cpuBest = Math.min(cpuBest, c.user + c.system);
        if (!v.ok) throw new Error(`bench log does not verify: ${v.reason}`);
        if (mode === undefined) threads = v.threads;
      }),
    );
    cpu.push(cpuBest / n);
  }
  const inputs = leafInputs(file);
  const bytes = inputs.reduce((sum, b) => sum + b.length, 0);
  let hashCpu = Infinity;
  const hashS = await best(3, () => {
    const c0 = process.cpuUsage();
    for (const b of inputs) hash('sha256', b, 'binary');
    const c = process.cpuUsage(c0);
    hashCpu = Math.min(hashCpu, (c.user + c.system) / n);
  });
  const streamS = await best(3, () => {
    const stream = createHash('sha256');
    for (const b of inputs) stream.update(b);
    stream.digest();
  });
  const mb = bytes / 1e6;
  const fmt = (s: number) => `${(n / s / 1000).toFixed(0)}k/s ${(mb / s).toFixed(0)}MB/s`;
  const labels = [`audit verify from storage, as the CLI (${threads > 0 ? `${threads} threads` : 'one thread'})`, '  one thread (--threads 1)'];
  console.log(row(`raw SHA-256 of each leaf input, ${(bytes / n).toFixed(0)} B, one thread (baseline)`, fmt(hashS)));
  labels.forEach((label, i) => console.log(row(label, fmt(timings[i] as number), fmt(hashS), hashS / (timings[i] as number))));
  console.log(row('  (for scale: the same bytes as one SHA-256 stream)', fmt(streamS)));
  const us = (c: number) => `${c.toFixed(2)} µs`;
  console.log(`  CPU per entry (all threads): verify as the CLI ${us(cpu[0] as number)}, one thread ${us(cpu[1] as number)}, raw SHA-256 ${us(hashCpu)}; verifier code from ${from}`);
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
