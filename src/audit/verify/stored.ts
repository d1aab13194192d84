/**
 * Verifies the log as stored: streams entries and checkpoints out of the
 * database page by page (one short read transaction each) into the core
 * verifier, in parts on several threads when asked or when the log is large
 * (parallel.ts), or into the pruned-log verifier once entries were archived.
 */
import { availableParallelism } from 'node:os';
import type { Db } from '../../db/index.js';
import type { ReadOnlySource } from '../../db/dialects/audit-reader.js';
import { verifyLog, type LogEntryRecord, type NoteVerifier, type VerifyResult } from '../log/index.js';
import { checkpointPage, entryPage, latestCheckpoint, pruneFloor, prunedLeafPage, treeSize } from '../store.js';
import type { VerifyCrew } from './crew.js';
import { PARALLEL_MIN_ENTRIES, verifyInParallel } from './parallel.js';
import { verifyPrunedLog } from './pruned.js';
import { toEntryRun } from './runs.js';
import { entryRuns, notes, toRecord, type LogPages } from './sources.js';

export interface StoredVerifyOptions {
  /** Every key the log was signed with (rotation leaves several). */
  verifier: NoteVerifier | readonly NoteVerifier[];
  origin: string;
  /** Earlier checkpoints kept elsewhere (witness copies). */
  witness?: readonly string[] | undefined;
  onProgress?: ((processed: number, total: number) => void) | undefined;
  pageSize?: number | undefined;
  /**
   * How worker threads may connect to the database (readOnlySource in
   * db/dialects/audit-reader.ts). Without it verification runs in this thread.
   */
  source?: ReadOnlySource | undefined;
  /**
   * Threads verifying parts of the log, each on its own connection
   * (parallel.ts): this one and threads - 1 workers; 1: this thread alone,
   * the sequential walk. Default: one per core (at most 8) once the log has
   * PARALLEL_MIN_ENTRIES entries. A pruned log is verified in this thread.
   */
  threads?: number | undefined;
  /**
   * Workers started earlier for this verification (crew.ts: the CLI starts
   * them while it opens the keyring) for `source`, used instead of starting
   * new ones when the log is verified in parts (and closed once that is
   * answered); the caller closes them too (an unused crew).
   */
  crew?: VerifyCrew | undefined;
  /** Tests: split points and in-thread parts for the parallel path (parallel.ts). */
  parallelTest?: { splits?: readonly number[]; inline?: boolean; workersOnly?: boolean } | undefined;
}

export type StoredVerifyResult = VerifyResult & {
  /** Entries below this index were archived and pruned; their leaf hashes stood in for them. */
  readonly floor: number;
  /** The tree size read when verification started (entries beyond the newest checkpoint included). */
  readonly total: number;
  /**
   * Threads that verified in parts and gave the answer (this one included);
   * 0 when the sequential walk did (one thread was asked for, or the parts
   * found a fault or anything odd and the sequential walk told exactly what).
   */
  readonly threads: number;
};

/** Threads by default at most: each holds a connection (on PostgreSQL, one of the server's). */
const DEFAULT_MAX_THREADS = 8;

/** LogPages over the process's connection: one short read transaction per page. */
function dbPages(db: Db): LogPages {
  return {
    entries: (from, to) =>
      db.read(async (tx) => toEntryRun(await db.adapter.audit.readEntryRun(tx, from, to)) ?? (await entryPage(tx, from, to, to - from)).map(toRecord)),
    checkpointPage: (after, max, limit) => db.read((tx) => checkpointPage(tx, after, max, limit)),
  };
}

/** Entries [from, end) row by row, a page at a time (the pruned log's path). */
async function* entryPages(db: Db, from: number, end: number, pageSize: number): AsyncGenerator<LogEntryRecord[]> {
  for (let next = from; next < end; ) {
    const rows = await db.read((tx) => entryPage(tx, next, end, pageSize));
    if (rows.length === 0) return;
    yield rows.map(toRecord);
    next = Number(rows[rows.length - 1]?.idx) + 1;
  }
}

/** The level-0 hashes kept for pruned entries [0, end). */
async function* leafPages(db: Db, end: number, pageSize: number): AsyncGenerator<Array<{ index: number; hash: Uint8Array }>> {
  for (let next = 0; next < end; ) {
    const rows = await db.read((tx) => prunedLeafPage(tx, next, end, pageSize));
    if (rows.length === 0) return;
    yield rows.map((r) => ({ index: Number(r.idx), hash: r.hash }));
    next = Number(rows[rows.length - 1]?.idx) + 1;
  }
}

const sameSource = (a: ReadOnlySource, b: ReadOnlySource | undefined): boolean => b !== undefined && JSON.stringify(a) === JSON.stringify(b);

/** Threads for a large log: `threads` when given, else one per core (at most DEFAULT_MAX_THREADS). */
export function largeLogThreads(threads: number | undefined): number {
  return threads !== undefined ? Math.max(1, Math.floor(threads)) : Math.min(availableParallelism(), DEFAULT_MAX_THREADS);
}

/** Threads to use for a log of `end` entries (1: no workers, this thread verifies). */
function threadsFor(options: StoredVerifyOptions, end: number): number {
  if (!options.source || end === 0) return 1;
  if (options.threads !== undefined) return largeLogThreads(options.threads);
  return end >= PARALLEL_MIN_ENTRIES ? largeLogThreads(undefined) : 1;
}

/**
 * Verifies everything stored. Checkpoints are bounded by the newest one
 * present when verification starts and entries by the size read after it, so
 * a live log that keeps growing verifies as of that moment, while entries
 * removed from the end still show as truncation. In parts, the answer is
 * "ok" only when every part and the joins between them check; anything else
 * reruns the sequential walk, whose result is returned.
 */
export async function verifyStoredLog(db: Db, options: StoredVerifyOptions): Promise<StoredVerifyResult> {
  const pageSize = options.pageSize ?? 2000;
  const { floor, maxCheckpoint, end } = await db.read(async (tx) => {
    const latest = await latestCheckpoint(tx);
    return { floor: await pruneFloor(tx), maxCheckpoint: latest ? Number(latest.size) : 0, end: await treeSize(tx) };
  });
  const total = Math.max(end, maxCheckpoint);
  const onProgress = options.onProgress && ((n: number) => options.onProgress?.(n, total));
  const verifiers = Array.isArray(options.verifier) ? (options.verifier as readonly NoteVerifier[]) : [options.verifier as NoteVerifier];
  // A crew started for another database is not used (its workers would check other entries against this one's stored nodes).
  const crew = options.crew && options.crew.size > 0 && sameSource(options.crew.source, options.source) ? options.crew : undefined;
  const wanted = threadsFor(options, end);
  const threads = crew && wanted > 1 ? crew.size + 1 : wanted;
  if (floor === 0 && threads > 1 && options.source) {
    const verdict = await verifyInParallel(db, {
      source: options.source,
      end,
      maxCheckpoint,
      verifiers,
      origin: options.origin,
      witness: options.witness ?? [],
      threads,
      crew,
      pageSize,
      onProgress,
      splits: options.parallelTest?.splits,
      inline: options.parallelTest?.inline,
      workersOnly: options.parallelTest?.workersOnly,
    });
    if (verdict.ok) {
      onProgress?.(end);
      return { ...verdict.result, floor, total: end, threads };
    }
  }
  const pages = dbPages(db);
  const common = { checkpoints: notes(pages, -1, maxCheckpoint, pageSize), verifier: options.verifier, origin: options.origin };
  const result =
    floor === 0
      ? await verifyLog({ ...common, entries: entryRuns(pages, 0, end, pageSize), witness: options.witness ?? [], onProgress, progressInterval: 65_536 })
      : await verifyPrunedLog({
          ...common,
          prunedLeaves: leafPages(db, floor, pageSize),
          entries: entryPages(db, floor, end, pageSize),
          witness: options.witness,
          onProgress,
        });
  return { ...result, floor, total: end, threads: 0 };
}
