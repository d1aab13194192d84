import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely, type KyselyPlugin } from 'kysely';
import type { DialectAdapter } from './dialects/adapter.js';
import { createPostgresAdapter, openPostgres } from './dialects/postgres.js';
import { openSqlite, sqliteAdapter } from './dialects/sqlite.js';
import { GroupCommitter, type Control } from './group-commit.js';
import { SqliteReadUnits } from './sqlite-reads.js';
import { migrateToLatest, migrationStatus, type MigrationStatus } from './migrations/index.js';
import { TENANT_TABLES } from './tenant-tables.js';
import { TenantGuardPlugin } from './tenant-guard.js';
import type { Database, Tx } from './types.js';
import type { TouchedTable } from './write-tracker.js';
import { trackedWrite, type WriteListener } from './write-unit.js';

export interface DatabaseOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  appRole: string;
  poolSize: number;
  groupCommitMax: number;
}

/**
 * The only way services touch storage. `write` runs a unit of work in a
 * transaction (group-committed on SQLite); `read` runs in a read-only
 * transaction that sees only committed data. Both hand the unit a `Tx`.
 */
export interface Db {
  readonly adapter: DialectAdapter;
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  migrate(): Promise<string[]>;
  migrationStatus(): Promise<MigrationStatus>;
  /** Throws unless the database answers. */
  ping(): Promise<void>;
  /** Group-commit counters (SQLite), for metrics and benchmarks. */
  readonly stats: { batches: number; units: number };
  /**
   * Calls `listener` after each write unit with the tables it wrote (once its
   * COMMIT is durable, or after it failed): in-process caches invalidate here.
   * Returns the unsubscribe function.
   */
  onWrite(listener: (touched: readonly TouchedTable[]) => void): () => void;
  /** Where the data lives, for messages (never includes a password). */
  readonly location: string;
  close(): Promise<void>;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable)';
  }
}

function subscribe(listeners: Set<WriteListener>): Db['onWrite'] {
  return (listener) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
}

/** Opens the configured database: PostgreSQL when a URL is given, else SQLite in the data directory. */
export function openDatabase(options: DatabaseOptions): Db {
  const plugins = [new TenantGuardPlugin(TENANT_TABLES)];
  if (options.databaseUrl) return openPg(options, plugins);
  return openLite(options, plugins);
}

function openLite(options: DatabaseOptions, plugins: KyselyPlugin[]): Db {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(options.dataDir, 'custos.db');
  // The key store is a file of its own (src/keys/README.md): data backups copy custos.db only.
  const h = openSqlite(file, plugins, path.join(options.dataDir, 'keystore.db'));
  // Transaction control as prepared statements on the writer connection (the batch holds it).
  const control = new Map<Control, { run(): unknown }>();
  const exec = (statement: Control) => {
    let stmt = control.get(statement);
    if (!stmt) control.set(statement, (stmt = h.writerRaw.prepare(statement)));
    stmt.run();
  };
  const committer = new GroupCommitter(h.writer, options.groupCommitMax, () => h.writerRaw.inTransaction, exec);
  const migrationCtx = { adapter: sqliteAdapter, appRole: options.appRole };
  // Prepared once: exec() would parse BEGIN/COMMIT again on every read.
  const reads = new SqliteReadUnits(h.reader, h.readerRaw.prepare('BEGIN'), h.readerRaw.prepare('COMMIT'), () => h.readerRaw.inTransaction);
  const listeners = new Set<WriteListener>();
  return {
    adapter: sqliteAdapter,
    location: file,
    stats: committer.stats,
    onWrite: subscribe(listeners),
    write(fn) {
      return trackedWrite(listeners, fn, (unit) => committer.run(unit));
    },
    read(fn) {
      // BEGIN/COMMIT straight on the connection: a consistent snapshot without compiling two queries per read.
      return reads.run(fn);
    },
    migrate: () => migrateToLatest(h.writer as Kysely<unknown>, migrationCtx),
    migrationStatus: () => migrationStatus(h.reader as Kysely<unknown>, migrationCtx),
    async ping() {
      await sql`select 1`.execute(h.reader);
    },
    async close() {
      await committer.close();
      await h.writer.destroy();
      await h.reader.destroy();
    },
  };
}

function openPg(options: DatabaseOptions, plugins: KyselyPlugin[]): Db {
  const url = options.databaseUrl as string;
  const h = openPostgres(url, options.poolSize, options.appRole, plugins);
  const adapter = createPostgresAdapter(options.appRole);
  const migrationCtx = { adapter, appRole: options.appRole };
  const listeners = new Set<WriteListener>();
  return {
    adapter,
    location: redactUrl(url),
    stats: { batches: 0, units: 0 },
    onWrite: subscribe(listeners),
    write(fn) {
      return trackedWrite(listeners, fn, (unit) => h.app.transaction().execute(unit));
    },
    read(fn) {
      return h.app.transaction().execute(async (tx) => {
        await sql`set transaction read only`.execute(tx);
        return fn(tx);
      });
    },
    migrate: () => migrateToLatest(h.owner as Kysely<unknown>, migrationCtx),
    migrationStatus: () => migrationStatus(h.owner as Kysely<unknown>, migrationCtx),
    async ping() {
      await sql`select 1`.execute(h.app);
    },
    async close() {
      await h.app.destroy();
      await h.owner.destroy();
    },
  };
}

export type { Database, Tx };
