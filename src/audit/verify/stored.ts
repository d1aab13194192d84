/**
 * Verifies the log as stored: streams entries and checkpoints out of the
 * database page by page (one short read transaction each) into the core
 * verifier, or into the pruned-log verifier once entries were archived.
 */
import type { Db } from '../../db/index.js';
import { verifyLog, type LogEntryRecord, type LogEntryRun, type NoteVerifier, type RunHashes, type VerifyResult } from '../log/index.js';
import { checkpointPage, entryPage, latestCheckpoint, pruneFloor, prunedLeafPage, treeSize } from '../store.js';
import { verifyPrunedLog } from './pruned.js';
import { startLeafHasher } from './leaf-worker.js';
import { toEntryRun } from './runs.js';

export interface StoredVerifyOptions {
  /** Every key the log was signed with (rotation leaves several). */
  verifier: NoteVerifier | readonly NoteVerifier[];
  origin: string;
  /** Earlier checkpoints kept elsewhere (witness copies). */
  witness?: readonly string[] | undefined;
  onProgress?: ((processed: number, total: number) => void) | undefined;
  pageSize?: number | undefined;
  /**
   * Hash leaves in a worker thread (leaf-worker.ts). Off unless asked: on this 2-core machine the worker
   * measured slower than one thread even when quiet (bench: 161k vs 200k entries/s, load 1.2).
   */
  leafWorker?: boolean | undefined;
}

export type StoredVerifyResult = VerifyResult & {
  /** Entries below this index were archived and pruned; their leaf hashes stood in for them. */
  readonly floor: number;
  /** The tree size read when verification started (entries beyond the newest checkpoint included). */
  readonly total: number;
};

/**
 * Entries [from, end) as packed runs of `pageSize` indexes, one aggregate
 * query each; a range whose aggregate is not faithful (see runs.ts) comes as
 * its rows instead.
 */
async function* entryRuns(db: Db, from: number, end: number, pageSize: number): AsyncGenerator<LogEntryRun | LogEntryRecord[]> {
  for (let next = from; next < end; next += pageSize) {
    const to = Math.min(end, next + pageSize);
    const run = await db.read(async (tx) => {
      const packed = toEntryRun(await db.adapter.audit.readEntryRun(tx, next, to));
      return packed ?? (await entryPage(tx, next, to, to - next)).map(toRecord);
    });
    yield run;
  }
}

const toRecord = (r: { idx: number; event: string; leaf_hash: Uint8Array }): LogEntryRecord => ({
  index: Number(r.idx),
  event: Buffer.from(r.event, 'utf8'),
  leafHash: r.leaf_hash,
});

async function* entryPages(db: Db, from: number, end: number, pageSize: number): AsyncGenerator<LogEntryRecord[]> {
  for (let next = from; next < end; ) {
    const rows = await db.read((tx) => entryPage(tx, next, end, pageSize));
    if (rows.length === 0) return;
    yield rows.map(toRecord);
    next = Number(rows[rows.length - 1]?.idx) + 1;
  }
}

async function* leafPages(db: Db, end: number, pageSize: number): AsyncGenerator<Array<{ index: number; hash: Uint8Array }>> {
  for (let next = 0; next < end; ) {
    const rows = await db.read((tx) => prunedLeafPage(tx, next, end, pageSize));
    if (rows.length === 0) return;
    yield rows.map((r) => ({ index: Number(r.idx), hash: r.hash }));
    next = Number(rows[rows.length - 1]?.idx) + 1;
  }
}

async function* notes(db: Db, maxSize: number, pageSize: number): AsyncGenerator<string> {
  for (let after = -1; ; ) {
    const rows = await db.read((tx) => checkpointPage(tx, after, maxSize, pageSize));
    for (const r of rows) yield r.note;
    if (rows.length < pageSize) return;
    after = Number(rows[rows.length - 1]?.size);
  }
}

/** Runs `verify` with a worker hashing leaves when the log is large enough (leaf-worker.ts). */
async function verifyWithHasher<T>(entries: number, verify: (hashRun: ((run: LogEntryRun) => Promise<RunHashes>) | undefined) => Promise<T>): Promise<T> {
  const hasher = startLeafHasher(entries);
  try {
    return await verify(hasher && ((run) => hasher.hash(run)));
  } finally {
    await hasher?.close();
  }
}

/**
 * Verifies everything stored. Checkpoints are bounded by the newest one
 * present when verification starts and entries by the size read after it, so
 * a live log that keeps growing verifies as of that moment, while entries
 * removed from the end still show as truncation.
 */
export async function verifyStoredLog(db: Db, options: StoredVerifyOptions): Promise<StoredVerifyResult> {
  const pageSize = options.pageSize ?? 2000;
  const { floor, maxCheckpoint, end } = await db.read(async (tx) => {
    const latest = await latestCheckpoint(tx);
    return { floor: await pruneFloor(tx), maxCheckpoint: latest ? Number(latest.size) : 0, end: await treeSize(tx) };
  });
  const total = Math.max(end, maxCheckpoint);
  const onProgress = options.onProgress && ((n: number) => options.onProgress?.(n, total));
  const common = { checkpoints: notes(db, maxCheckpoint, pageSize), verifier: options.verifier, origin: options.origin };
  const result =
    floor === 0
      ? await verifyWithHasher(options.leafWorker ? Infinity : 0, (hashRun) =>
          verifyLog({ ...common, entries: entryRuns(db, 0, end, pageSize), witness: options.witness ?? [], onProgress, progressInterval: 65_536, hashRun }),
        )
      : await verifyPrunedLog({
          ...common,
          prunedLeaves: leafPages(db, floor, pageSize),
          entries: entryPages(db, floor, end, pageSize),
          witness: options.witness,
          onProgress,
        });
  return { ...result, floor, total: end };
}
