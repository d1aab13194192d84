/**
 * Parallel verification of the stored log (src/audit/verify/parallel.ts) on
 * both dialects: it may say ok only when the sequential verifier does, and
 * whatever it finds, verifyStoredLog answers exactly what the sequential
 * verifier answers (same first bad index, reason, range). Logs are changed in
 * place behind the database's back (triggers bypassed) and restored.
 */
import { generateKeyPairSync } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointKey, createAuditRecorder, signerFromPrivateKey, verifyStoredLog } from '../src/audit/index.js';
import { leafHash } from '../src/audit/log/index.js';
import { createSequencer } from '../src/audit/sequencer/index.js';
import { startVerifyCrew } from '../src/audit/verify/crew.js';
import { guidedSplits, verifyInParallel } from '../src/audit/verify/parallel.js';
import type { StoredVerifyOptions } from '../src/audit/verify/stored.js';
import { readOnlySource, type ReadOnlySource } from '../src/db/dialects/audit-reader.js';
import { openDatabase, type Db } from '../src/db/index.js';
import { systemClock } from '../src/shared/clock.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';

const ORIGIN = 'parallel.test/audit';
const KEY = checkpointKey(ORIGIN, signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey));
const ENTRIES = 300;
/** Entries between checkpoints, in turn: many checkpoints, at sizes that fall anywhere relative to split points. */
const CHUNKS = [1, 7, 16, 3, 40, 9, 64, 2, 33, 5, 120];

/** Runs SQL behind the database's back: triggers and privileges bypassed (SQLite: triggers dropped; PostgreSQL: superuser, replica role). */
interface Raw {
  run(sqlText: string, params?: unknown[]): Promise<void>;
  rows<T>(sqlText: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function rawConnection(env: TestEnv): Promise<Raw> {
  if (env.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: env.config.databaseUrl });
    await client.connect();
    await client.query('SET session_replication_role = replica');
    return {
      run: async (q, p) => void (await client.query(q, p)),
      rows: async <T>(q: string, p?: unknown[]) => (await client.query(q, p)).rows as T[],
      close: () => client.end(),
    };
  }
  const db = new BetterSqlite3((readOnlySource({ dataDir: env.dataDir, appRole: 'x' }) as { file: string }).file);
  for (const t of ['audit_entries_no_update', 'audit_entries_no_delete', 'audit_checkpoints_no_update', 'audit_checkpoints_no_delete', 'audit_nodes_no_update', 'audit_nodes_no_delete']) {
    db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  }
  const positional = (q: string) => q.replace(/\$\d+/g, '?');
  return {
    run: async (q, p = []) => void db.prepare(positional(q)).run(...p),
    rows: async <T>(q: string, p: unknown[] = []) => db.prepare(positional(q)).all(...p) as T[],
    close: async () => void db.close(),
  };
}

type Row = { idx: number | string; event: string; leaf_hash: Uint8Array };
type Tamper = (raw: Raw, at: number, seed: number) => Promise<() => Promise<void>>;

const entryAt = async (raw: Raw, idx: number) => (await raw.rows<Row>('SELECT idx, event, leaf_hash FROM audit_entries WHERE idx = $1', [idx]))[0] as Row;
const setEntry = (raw: Raw, idx: number, event: string, hash: Uint8Array) =>
  raw.run('UPDATE audit_entries SET event = $1, leaf_hash = $2 WHERE idx = $3', [event, Buffer.from(hash), idx]);
const restoreEntry = (raw: Raw, row: Row) => () => setEntry(raw, Number(row.idx), row.event, row.leaf_hash);

/** Ways of damaging the stored log; each returns the undo. */
const TAMPERS: Record<string, Tamper> = {
  async 'event changed'(raw, at, seed) {
    const row = await entryAt(raw, at);
    const pos = seed % row.event.length;
    const other = row.event[pos] === 'a' ? 'b' : 'a';
    await setEntry(raw, at, row.event.slice(0, pos) + other + row.event.slice(pos + 1), row.leaf_hash);
    return restoreEntry(raw, row);
  },
  async 'leaf hash changed'(raw, at, seed) {
    const row = await entryAt(raw, at);
    const hash = Buffer.from(row.leaf_hash);
    hash[seed % 32]! ^= 1 << seed % 8;
    await setEntry(raw, at, row.event, hash);
    return restoreEntry(raw, row);
  },
  async 'event forged with a matching leaf hash'(raw, at) {
    const row = await entryAt(raw, at);
    const forged = row.event.replace('"i":', '"forged":');
    await setEntry(raw, at, forged, leafHash(Buffer.from(forged)));
    return restoreEntry(raw, row);
  },
  async 'two entries swapped'(raw, at) {
    const other = at === 0 ? 1 : at - 1;
    const [a, b] = [await entryAt(raw, at), await entryAt(raw, other)];
    await setEntry(raw, at, b.event, b.leaf_hash);
    await setEntry(raw, other, a.event, a.leaf_hash);
    return async () => {
      await restoreEntry(raw, a)();
      await restoreEntry(raw, b)();
    };
  },
  async 'entry moved away'(raw, at) {
    await raw.run('UPDATE audit_entries SET idx = idx + 5000 WHERE idx = $1', [at]);
    return () => raw.run('UPDATE audit_entries SET idx = idx - 5000 WHERE idx = $1', [at + 5000]);
  },
  async 'tail cut'(raw, at) {
    const rows = await raw.rows<Record<string, unknown>>('SELECT * FROM audit_entries WHERE idx >= $1 ORDER BY idx', [at]);
    await raw.run('DELETE FROM audit_entries WHERE idx >= $1', [at]);
    return async () => {
      for (const row of rows) {
        const cols = Object.keys(row);
        await raw.run(`INSERT INTO audit_entries (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
      }
    };
  },
  async 'stored node changed (verification does not rest on nodes)'(raw, at) {
    const nodes = await raw.rows<{ level: number; idx: number | string; hash: Uint8Array }>('SELECT level, idx, hash FROM audit_nodes WHERE level > 0 ORDER BY level, idx');
    const node = nodes[at % Math.max(1, nodes.length)];
    if (!node) return async () => {};
    const flipped = Buffer.from(node.hash);
    flipped[0]! ^= 1;
    await raw.run('UPDATE audit_nodes SET hash = $1 WHERE level = $2 AND idx = $3', [flipped, node.level, node.idx]);
    return () => raw.run('UPDATE audit_nodes SET hash = $1 WHERE level = $2 AND idx = $3', [Buffer.from(node.hash), node.level, node.idx]);
  },
  async 'checkpoint signature changed'(raw, at) {
    const cps = await raw.rows<{ size: number | string; note: string }>('SELECT size, note FROM audit_checkpoints WHERE size >= $1 ORDER BY size LIMIT 1', [at]);
    const cp = cps[0];
    if (!cp) return async () => {};
    const lines = cp.note.split('\n');
    const sig = lines[lines.length - 2] as string;
    lines[lines.length - 2] = sig.slice(0, -6) + (sig.slice(-6, -5) === 'A' ? 'B' : 'A') + sig.slice(-5);
    await raw.run('UPDATE audit_checkpoints SET note = $1 WHERE size = $2', [lines.join('\n'), cp.size]);
    return () => raw.run('UPDATE audit_checkpoints SET note = $1 WHERE size = $2', [cp.note, cp.size]);
  },
  async 'nothing'() {
    return async () => {};
  },
};

describe('guided split points', () => {
  it('cut [0, end) into aligned parts of at least 4096 entries that shrink towards the end (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: 2, max: 8 }), (end, threads) => {
        const bounds = [0, ...guidedSplits(end, threads), end];
        const sizes = bounds.slice(1).map((b, i) => b - (bounds[i] as number));
        for (const s of bounds.slice(1, -1)) expect(s % 16).toBe(0);
        for (const size of sizes) expect(size).toBeGreaterThanOrEqual(Math.min(end, 4096));
        // Every part but the last is no larger than the one before; the last takes the rest (under the one before plus 4096).
        for (let k = 0; k + 2 < sizes.length; k++) expect(sizes[k + 1]).toBeLessThanOrEqual(sizes[k] as number);
        if (sizes.length > 1) expect(sizes.at(-1)).toBeLessThan((sizes.at(-2) as number) + 4096);
        expect(sizes[0]).toBeLessThanOrEqual(Math.max(Math.ceil(end / (2 * threads) / 16) * 16, end < 8192 ? end : 4096));
      }),
      { numRuns: 500 },
    );
    expect(guidedSplits(500_000, 2).length).toBeLessThan(40);
    expect(guidedSplits(8000, 2)).toEqual([]);
  });
});

describe.each(DIALECTS)('parallel audit verification on %s', (dialect) => {
  let env: TestEnv;
  let db: Db;
  let raw: Raw;
  let source: ReadOnlySource;

  beforeAll(async () => {
    env = await testEnv(dialect);
    db = openDatabase({ dataDir: env.dataDir, databaseUrl: env.config.databaseUrl, appRole: env.config.database.appRole, poolSize: 2, groupCommitMax: 64 });
    await db.migrate();
    source = readOnlySource({ dataDir: env.dataDir, databaseUrl: env.config.databaseUrl, appRole: env.config.database.appRole });
    const audit = createAuditRecorder({ db, clock: systemClock });
    const seq = createSequencer({ db, key: async () => KEY, origin: ORIGIN, batchSize: 1000, pollMs: 20, checkpointIntervalMs: 0, now: () => new Date() });
    for (let done = 0, k = 0; done < ENTRIES; k++) {
      const n = Math.min(CHUNKS[k % CHUNKS.length] as number, ENTRIES - done);
      await db.write(async (tx) => {
        for (let i = done; i < done + n; i++) {
          await audit.record(tx, systemContext('parallel-test'), { classUid: 6003, activityId: 99, action: 'test.parallel', kind: 'system', outcome: 'success', details: { i } });
        }
      });
      await seq.tick({ checkpoint: true });
      done += n;
    }
    raw = await rawConnection(env);
  }, 120_000);

  afterAll(async () => {
    await raw?.close();
    await db?.close();
    await env?.cleanup();
  });

  const base = (extra: Partial<StoredVerifyOptions> = {}): StoredVerifyOptions => ({ verifier: KEY.verifier, origin: ORIGIN, source, ...extra });
  const withoutThreads = <T extends { threads: number }>({ threads: _, ...rest }: T) => rest;

  it('the untouched log verifies in parts taken by worker threads, with the same result as one thread', async () => {
    const progress: number[] = [];
    const parallel = await verifyStoredLog(db, base({ threads: 3, parallelTest: { splits: [100, 208], workersOnly: true }, onProgress: (n) => progress.push(n) }));
    const sequential = await verifyStoredLog(db, base({ threads: 1 }));
    expect(parallel.threads).toBe(3);
    expect(sequential.threads).toBe(0);
    expect(withoutThreads(parallel)).toEqual(withoutThreads(sequential));
    expect(sequential).toMatchObject({ ok: true, size: ENTRIES, checkpointSize: ENTRIES });
    expect(progress.at(-1)).toBe(ENTRIES);
    // Without a source (the server's scheduled verification), one thread.
    expect((await verifyStoredLog(db, { verifier: KEY.verifier, origin: ORIGIN, threads: 4 })).threads).toBe(0);
  });

  it('uses workers started before it (as the CLI starts them), with the same result as one thread; a crew runs one job', async () => {
    const crew = startVerifyCrew(source, 2);
    try {
      const parts = await verifyStoredLog(db, base({ threads: 3, crew, parallelTest: { splits: [96, 160, 224], workersOnly: true } }));
      expect(parts).toMatchObject({ ok: true, size: ENTRIES, threads: 3 });
      expect(withoutThreads(parts)).toEqual(withoutThreads(await verifyStoredLog(db, base({ threads: 1 }))));
    } finally {
      await crew.close();
    }
    expect(() => crew.run({ parts: [], verifiers: [], origin: ORIGIN, pageSize: 10, counter: new Int32Array(new SharedArrayBuffer(8)) }, () => {})).toThrow();
    await crew.close();
    // Too small for parts by default: the crew is left unused (the CLI closes it).
    const idle = startVerifyCrew(source, 1);
    try {
      expect(await verifyStoredLog(db, base({ crew: idle }))).toMatchObject({ ok: true, size: ENTRIES, threads: 0 });
    } finally {
      await idle.close();
    }
  });

  it('a crew whose workers cannot connect, or ended early, still ends in the one-thread answer; a crew for another database is not used', async () => {
    const one = await verifyStoredLog(db, base({ threads: 1 }));
    const nowhere: ReadOnlySource =
      source.dialect === 'sqlite' ? { dialect: 'sqlite', file: `${env.dataDir}/missing.db` } : { ...source, url: 'postgres://127.0.0.1:1/nowhere' };
    // Its workers fail when the job comes: a doubt, or (all parts already in from this thread) the answer itself.
    const broken = startVerifyCrew(nowhere, 1);
    const verdict = await verifyInParallel(db, {
      source, crew: broken, end: ENTRIES, maxCheckpoint: ENTRIES, verifiers: [KEY.verifier], origin: ORIGIN, witness: [], threads: 2, pageSize: 2000, splits: [128],
    });
    await broken.close();
    if (verdict.ok) expect(verdict.result).toEqual(withoutThreads({ ...one, floor: undefined, total: undefined }));
    // Workers that ended before the job came (here: closed) are not waited for.
    const gone = startVerifyCrew(source, 1);
    await gone.close();
    expect(await verifyStoredLog(db, base({ threads: 2, crew: gone, parallelTest: { splits: [128] } }))).toEqual(one);
    // Started for another database: left aside, and the parts run on workers of their own.
    const elsewhere = startVerifyCrew(nowhere, 1);
    try {
      const r = await verifyStoredLog(db, base({ threads: 2, crew: elsewhere, parallelTest: { splits: [128] } }));
      expect(r.threads).toBe(2);
      expect(withoutThreads(r)).toEqual(withoutThreads(one));
    } finally {
      await elsewhere.close();
    }
  });

  it('witnesses falling in any part are checked there; one the log does not extend is a fault', async () => {
    const notes = await raw.rows<{ size: number | string; note: string }>('SELECT size, note FROM audit_checkpoints ORDER BY size');
    const witness = [notes[3], notes[9], notes.at(-1)].map((n) => n?.note as string);
    const parallel = await verifyStoredLog(db, base({ threads: 3, witness, parallelTest: { workersOnly: true } }));
    expect(parallel).toMatchObject({ ok: true, threads: 3, witnessSize: ENTRIES });
    const undo = await TAMPERS['event forged with a matching leaf hash']!(raw, 2, 0);
    try {
      // Rewritten and (here: not) re-signed: the checkpoints already fail; the witness alone would too.
      const r = await verifyStoredLog(db, base({ threads: 3, witness, parallelTest: { workersOnly: true } }));
      const s = await verifyStoredLog(db, base({ threads: 1, witness }));
      expect(r.ok).toBe(false);
      expect(withoutThreads(r)).toEqual(withoutThreads(s));
    } finally {
      await undo();
    }
  });

  it('agrees with the sequential verifier on any tampering and any split points, and never says ok alone when it should not (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(TAMPERS)),
        fc.integer({ min: 0, max: ENTRIES - 1 }),
        fc.nat(),
        fc.uniqueArray(fc.integer({ min: 1, max: ENTRIES - 1 }), { minLength: 1, maxLength: 4 }),
        async (kind, at, seed, splits) => {
          const undo = await (TAMPERS[kind] as Tamper)(raw, at, seed);
          try {
            const sorted = [...splits].sort((a, b) => a - b);
            const sequential = await verifyStoredLog(db, base({ threads: 1 }));
            const combined = await verifyStoredLog(db, base({ threads: 2, parallelTest: { splits: sorted, inline: true } }));
            expect(withoutThreads(combined)).toEqual(withoutThreads(sequential));
            const end = Number((await raw.rows<{ m: number | string | null }>('SELECT max(idx) + 1 AS m FROM audit_entries'))[0]?.m ?? 0);
            const verdict = await verifyInParallel(db, {
              source, end, maxCheckpoint: ENTRIES, verifiers: [KEY.verifier], origin: ORIGIN, witness: [], threads: 2, pageSize: 2000, splits: sorted, inline: true,
            });
            if (verdict.ok) {
              expect(sequential.ok).toBe(true);
              expect(verdict.result).toEqual(withoutThreads({ ...sequential, floor: undefined, total: undefined }));
            }
            // The parallel path itself must work: an untouched log (stored nodes included) is ok in parts.
            if (kind === 'nothing') expect(verdict.ok).toBe(true);
          } finally {
            await undo();
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
