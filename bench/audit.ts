import { createHash, generateKeyPairSync, hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { checkpointKey, createAuditRecorder, signerFromPrivateKey, verifyStoredLog } from '../src/audit/index.js';
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

/** Baseline 3: what verification cannot avoid, a read of every stored event and one SHA-256 of it (better-sqlite3 directly). */
function rawReadAndHash(file: string, n: number): number {
  const db = new BetterSqlite3(file, { readonly: true });
  const stmt = db.prepare('SELECT idx, event, leaf_hash FROM audit_entries WHERE idx >= ? ORDER BY idx LIMIT 2000');
  const t0 = performance.now();
  for (let from = 0; from < n; ) {
    const rows = stmt.all(from) as Array<{ idx: number; event: string }>;
    if (rows.length === 0) break;
    for (const r of rows) hash('sha256', Buffer.from(r.event, 'utf8'), 'buffer');
    from = Number(rows[rows.length - 1]?.idx) + 1;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
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
    let t0 = performance.now();
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

    t0 = performance.now();
    const v = await verifyStoredLog(db, { verifier: key.verifier, origin: ORIGIN });
    const verifyRate = n / ((performance.now() - t0) / 1000);
    if (!v.ok) throw new Error(`bench log does not verify: ${v.reason}`);
    const events = rows.map((x) => Buffer.from(x.event, 'utf8'));
    t0 = performance.now();
    for (const e of events) hash('sha256', e, 'buffer');
    const perEvent = n / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    const stream = createHash('sha256');
    for (const e of events) stream.update(e);
    stream.digest();
    const continuous = n / ((performance.now() - t0) / 1000);
    console.log(row('SHA-256 of each event, one call per event (baseline 1)', perEvent.toFixed(0)));
    console.log(row('SHA-256 of all events as one stream (baseline 2)', continuous.toFixed(0)));
    const readHash = rawReadAndHash(path.join(dir, 'custos.db'), n);
    console.log(row('raw SQLite read of the same rows + SHA-256 per event (baseline 3)', readHash.toFixed(0)));
    console.log(row('audit verify from storage (leaves, tree, checkpoints) vs 1', verifyRate.toFixed(0), perEvent.toFixed(0), verifyRate / perEvent));
    console.log(row('audit verify from storage vs 2', verifyRate.toFixed(0), continuous.toFixed(0), verifyRate / continuous));
    console.log(row('audit verify from storage vs 3', verifyRate.toFixed(0), readHash.toFixed(0), verifyRate / readHash));
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(baseDir, { recursive: true, force: true });
  }
}
