/**
 * The stored log as the verifiers read it, page by page: entries as packed
 * runs (or rows) and checkpoint notes. Over the process's own connection
 * (stored.ts: one short read transaction per page) or a worker's read-only
 * one (range.ts). Nothing here loads Kysely: workers import this file.
 */
import type { AuditLogReader } from '../../db/dialects/audit-reader.js';
import type { LogEntryRecord, LogEntryRun } from '../log/index.js';
import { toEntryRun } from './runs.js';

/** The reads the entry and note streams make. */
export interface LogPages {
  /** Entries [from, to): packed, or as rows when the aggregate is not faithful (runs.ts). */
  entries(from: number, to: number): Promise<LogEntryRun | LogEntryRecord[]>;
  /** Checkpoint notes with after < size <= max, smallest first, at most `limit`. */
  checkpointPage(after: number, max: number, limit: number): Promise<ReadonlyArray<{ size: number; note: string }>>;
}

export const toRecord = (r: { idx: number; event: string; leaf_hash: Uint8Array }): LogEntryRecord => ({
  index: Number(r.idx),
  event: Buffer.from(r.event, 'utf8'),
  leafHash: r.leaf_hash,
});

/** LogPages over a worker's read-only connection. */
export function readerPages(reader: AuditLogReader): LogPages {
  return {
    async entries(from, to) {
      return toEntryRun(await reader.entryRun(from, to)) ?? (await reader.entryPage(from, to, to - from)).map(toRecord);
    },
    checkpointPage: (after, max, limit) => reader.checkpointPage(after, max, limit),
  };
}

/** Entries [from, end) in pages of `pageSize` indexes. */
export async function* entryRuns(pages: LogPages, from: number, end: number, pageSize: number): AsyncGenerator<LogEntryRun | LogEntryRecord[]> {
  for (let next = from; next < end; next += pageSize) yield await pages.entries(next, Math.min(end, next + pageSize));
}

/** Checkpoint notes stored under sizes in (after, maxSize], smallest first. */
export async function* notes(pages: LogPages, after: number, maxSize: number, pageSize: number): AsyncGenerator<string> {
  for (let last = after; ; ) {
    const rows = await pages.checkpointPage(last, maxSize, pageSize);
    for (const r of rows) yield r.note;
    if (rows.length < pageSize) return;
    last = Number(rows[rows.length - 1]?.size);
  }
}
