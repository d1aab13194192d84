/**
 * The stored log as the verifiers read it: entries, pruned leaf hashes and
 * checkpoint notes, page by page, one short read transaction each (so a long
 * verification never holds a snapshot open). Used by the process's own
 * connection (stored.ts) and by each worker's (range-worker.ts).
 */
import type { Db } from '../../db/index.js';
import type { LogEntryRecord, LogEntryRun } from '../log/index.js';
import { checkpointPage, entryPage, prunedLeafPage } from '../store.js';
import { toEntryRun } from './runs.js';

/** What reading needs of a database handle (Db, or a worker's read-only one). */
export type LogReader = Pick<Db, 'read' | 'adapter'>;

const toRecord = (r: { idx: number; event: string; leaf_hash: Uint8Array }): LogEntryRecord => ({
  index: Number(r.idx),
  event: Buffer.from(r.event, 'utf8'),
  leafHash: r.leaf_hash,
});

/**
 * Entries [from, end) as packed runs of `pageSize` indexes, one aggregate
 * query each; a range whose aggregate is not faithful (see runs.ts) comes as
 * its rows instead.
 */
export async function* entryRuns(db: LogReader, from: number, end: number, pageSize: number): AsyncGenerator<LogEntryRun | LogEntryRecord[]> {
  for (let next = from; next < end; next += pageSize) {
    const to = Math.min(end, next + pageSize);
    yield await db.read(async (tx) => {
      const packed = toEntryRun(await db.adapter.audit.readEntryRun(tx, next, to));
      return packed ?? (await entryPage(tx, next, to, to - next)).map(toRecord);
    });
  }
}

/** Entries [from, end) row by row, a page at a time. */
export async function* entryPages(db: LogReader, from: number, end: number, pageSize: number): AsyncGenerator<LogEntryRecord[]> {
  for (let next = from; next < end; ) {
    const rows = await db.read((tx) => entryPage(tx, next, end, pageSize));
    if (rows.length === 0) return;
    yield rows.map(toRecord);
    next = Number(rows[rows.length - 1]?.idx) + 1;
  }
}

/** The level-0 hashes kept for pruned entries [0, end). */
export async function* leafPages(db: LogReader, end: number, pageSize: number): AsyncGenerator<Array<{ index: number; hash: Uint8Array }>> {
  for (let next = 0; next < end; ) {
    const rows = await db.read((tx) => prunedLeafPage(tx, next, end, pageSize));
    if (rows.length === 0) return;
    yield rows.map((r) => ({ index: Number(r.idx), hash: r.hash }));
    next = Number(rows[rows.length - 1]?.idx) + 1;
  }
}

/** Checkpoint notes stored under sizes in (after, maxSize], smallest first. */
export async function* notes(db: LogReader, after: number, maxSize: number, pageSize: number): AsyncGenerator<string> {
  for (let last = after; ; ) {
    const rows = await db.read((tx) => checkpointPage(tx, last, maxSize, pageSize));
    for (const r of rows) yield r.note;
    if (rows.length < pageSize) return;
    last = Number(rows[rows.length - 1]?.size);
  }
}
