/**
 * A read-only connection of its own, for a thread that reads one part of the
 * audit log (audit/verify/crew-worker.ts). A worker thread cannot share the
 * process's connections, so it is handed a ReadOnlySource (plain data that
 * crosses to the thread) and opens its own: SQLite opens the file read-only,
 * PostgreSQL takes one connection as the application role with read-only
 * transactions. Nothing here can write, and nothing here loads Kysely (a
 * worker starts in tens of milliseconds instead of a quarter second).
 */
import path from 'node:path';
import type { EntryRunRow } from './audit.js';

/** Where the data is, as plain data: what a worker thread needs to connect. */
export type ReadOnlySource =
  | { readonly dialect: 'sqlite'; readonly file: string }
  | { readonly dialect: 'postgres'; readonly url: string; readonly appRole: string };

/** The reads verification makes, on one connection. */
export interface AuditLogReader {
  /** Entries [from, to) aggregated into one row (AuditDialect.readEntryRun's row). */
  entryRun(from: number, to: number): Promise<EntryRunRow>;
  /** Entries [from, end) in index order, at most `limit` (as audit/store.ts entryPage). */
  entryPage(from: number, end: number, limit: number): Promise<Array<{ idx: number; event: string; leaf_hash: Uint8Array }>>;
  /** Checkpoint notes with after < size <= max, smallest first, at most `limit` (as audit/store.ts checkpointPage). */
  checkpointPage(after: number, max: number, limit: number): Promise<Array<{ size: number; note: string }>>;
  close(): Promise<void>;
}

/** The source for the database openDatabase opens with the same options. */
export function readOnlySource(options: { dataDir: string; databaseUrl?: string | undefined; appRole: string }): ReadOnlySource {
  if (options.databaseUrl) return { dialect: 'postgres', url: options.databaseUrl, appRole: options.appRole };
  // The file name openDatabase uses (db/database.ts).
  return { dialect: 'sqlite', file: path.join(options.dataDir, 'custos.db') };
}

/** Opens a read-only reader of `source` (each dialect's driver is loaded only when used). */
export async function openAuditReader(source: ReadOnlySource): Promise<AuditLogReader> {
  if (source.dialect === 'sqlite') return (await import('./sqlite-audit-reader.js')).openSqliteAuditReader(source.file);
  return (await import('./postgres-audit-reader.js')).openPostgresAuditReader(source.url, source.appRole);
}
