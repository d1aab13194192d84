/**
 * The audit log as verification reads it on SQLite, on a read-only
 * connection of its own (audit-reader.ts). No Kysely here: a worker thread
 * loads this file and better-sqlite3 only (Kysely costs ~0.2 s of start-up).
 */
import BetterSqlite3 from 'better-sqlite3';
import type { EntryRunRow } from './audit.js';
import type { AuditLogReader } from './audit-reader.js';

/**
 * One pass over a rowid range: group_concat appends each value's bytes as
 * stored (no UTF-8 round trip), and every aggregate sees the rows in the
 * same order, which the caller checks through `idxs`.
 */
export const SQLITE_ENTRY_RUN =
  `SELECT count(*) AS n, sum(event IS NOT NULL AND length(leaf_hash) = 32) AS complete, ` +
  `group_concat(idx) AS idxs, group_concat(octet_length(event)) AS lens, ` +
  `CAST(' ' || group_concat(event, ' ') AS BLOB) AS data, CAST(group_concat(leaf_hash, '') AS BLOB) AS leaves ` +
  `FROM audit_entries WHERE idx >= ? AND idx < ?`;

/** The row as EntryRunRow types it (SQLite's sum() is NULL over no rows). */
export function sqliteEntryRun(row: EntryRunRow): EntryRunRow {
  return { ...row, n: Number(row.n), complete: Number(row.complete ?? 0) };
}

// The same queries as audit/store.ts entryPage and checkpointPage.
const ENTRY_PAGE = `SELECT idx, event, leaf_hash FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?`;
const CHECKPOINT_PAGE = `SELECT size, note FROM audit_checkpoints WHERE size > ? AND size <= ? ORDER BY size LIMIT ?`;

/** Opens `file` read-only (it must exist). */
export function openSqliteAuditReader(file: string): AuditLogReader {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
  // A long sequential scan: map the file instead of a pread per page (as the process's own reader does).
  db.pragma('mmap_size = 1073741824');
  const run = db.prepare(SQLITE_ENTRY_RUN);
  const page = db.prepare(ENTRY_PAGE);
  const checkpoints = db.prepare(CHECKPOINT_PAGE);
  return {
    entryRun: async (from, to) => sqliteEntryRun(run.get(from, to) as EntryRunRow),
    entryPage: async (from, end, limit) => (page.all(from, end, limit) as Array<{ idx: number; event: string; leaf_hash: Buffer }>).map((r) => ({ ...r, idx: Number(r.idx) })),
    checkpointPage: async (after, max, limit) => (checkpoints.all(after, max, limit) as Array<{ size: number; note: string }>).map((r) => ({ size: Number(r.size), note: r.note })),
    close: async () => void db.close(),
  };
}
