/**
 * A read-only connection of its own, for a thread that reads one part of the
 * audit log (audit/verify/range-worker.ts). A worker thread cannot share the
 * process's connections, so it is handed a ReadOnlySource (plain data that
 * crosses to the thread) and opens its own: SQLite opens the file read-only,
 * PostgreSQL takes one connection as the application role in read-only
 * transactions. Nothing here can write.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database, Tx } from '../types.js';
import type { DialectAdapter } from './adapter.js';
import { sqliteAdapter } from './sqlite.js';

/** Where the data is, as plain data: what a worker thread needs to connect. */
export type ReadOnlySource =
  | { readonly dialect: 'sqlite'; readonly file: string }
  | { readonly dialect: 'postgres'; readonly url: string; readonly appRole: string };

/** The part of Db a reader needs: `read` runs `fn` in a read-only transaction. */
export interface ReadOnlyDb {
  readonly adapter: DialectAdapter;
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The source for the database openDatabase opens with the same options. */
export function readOnlySource(options: { dataDir: string; databaseUrl?: string | undefined; appRole: string }): ReadOnlySource {
  if (options.databaseUrl) return { dialect: 'postgres', url: options.databaseUrl, appRole: options.appRole };
  // The file name openDatabase uses (db/database.ts).
  return { dialect: 'sqlite', file: path.join(options.dataDir, 'custos.db') };
}

function openSqliteReadOnly(file: string): ReadOnlyDb {
  const raw = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
  // A long sequential scan: map the file instead of a pread per page (as the process's own reader does).
  raw.pragma('mmap_size = 1073741824');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const begin = raw.prepare('BEGIN');
  const commit = raw.prepare('COMMIT');
  return {
    adapter: sqliteAdapter,
    read: (fn) =>
      db.connection().execute(async (conn) => {
        begin.run();
        try {
          return await fn(conn);
        } finally {
          if (raw.inTransaction) commit.run();
        }
      }),
    close: () => db.destroy(),
  };
}

async function openPostgresReadOnly(url: string, appRole: string): Promise<ReadOnlyDb> {
  // Loaded only when needed: a worker on SQLite starts without the PostgreSQL driver.
  const { createPostgresAdapter, openPostgres } = await import('./postgres.js');
  const h = openPostgres(url, 1, appRole, []);
  return {
    adapter: createPostgresAdapter(appRole),
    read: (fn) =>
      h.app.transaction().execute(async (tx) => {
        await sql`set transaction read only`.execute(tx);
        return fn(tx);
      }),
    async close() {
      await h.app.destroy();
      await h.owner.destroy();
    },
  };
}

/** Opens a read-only connection to `source`. */
export async function openReadOnly(source: ReadOnlySource): Promise<ReadOnlyDb> {
  return source.dialect === 'sqlite' ? openSqliteReadOnly(source.file) : openPostgresReadOnly(source.url, source.appRole);
}
