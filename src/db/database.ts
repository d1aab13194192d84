import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { createError } from '../shared/errors.js';
import type { DialectAdapter } from './dialects/adapter.js';
import { createPostgresAdapter, openPostgres } from './dialects/postgres.js';
import { openSqlite, sqliteAdapter } from './dialects/sqlite.js';
import { GroupCommitter } from './group-commit.js';
import { migrateToLatest, migrationStatus, type MigrationStatus } from './migrations/index.js';
import { TENANT_TABLES } from './tenant-tables.js';
import { TenantGuardPlugin } from './tenant-guard.js';
import type { Database, Tx } from './types.js';

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
  /** Where the data lives, for messages (never includes a password). */
  readonly location: string;
  close(): Promise<void>;
}

const inWrite = new AsyncLocalStorage<boolean>();

function refuseNested(): void {
  if (inWrite.getStore()) {
    // A nested write would queue behind the batch it is part of and never run.
    throw createError('DB_NESTED_WRITE', 'db.write called inside a unit of work; pass the tx instead', 500);
  }
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

/** Opens the configured database: PostgreSQL when a URL is given, else SQLite in the data directory. */
export function openDatabase(options: DatabaseOptions): Db {
  const plugins = [new TenantGuardPlugin(TENANT_TABLES)];
  if (options.databaseUrl) return openPg(options, plugins);
  return openLite(options, plugins);
}

function openLite(options: DatabaseOptions, plugins: TenantGuardPlugin[]): Db {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(options.dataDir, 'custos.db');
  // The key store is a file of its own (src/keys/README.md): data backups copy custos.db only.
  const h = openSqlite(file, plugins, path.join(options.dataDir, 'keystore.db'));
  const committer = new GroupCommitter(h.writer, options.groupCommitMax, () => h.writerRaw.inTransaction);
  const migrationCtx = { adapter: sqliteAdapter, appRole: options.appRole };
  // Prepared once: exec() would parse BEGIN/COMMIT again on every read.
  const beginRead = h.readerRaw.prepare('BEGIN');
  const commitRead = h.readerRaw.prepare('COMMIT');
  return {
    adapter: sqliteAdapter,
    location: file,
    stats: committer.stats,
    write(fn) {
      refuseNested();
      return committer.run((tx) => inWrite.run(true, () => fn(tx)));
    },
    read(fn) {
      // BEGIN/COMMIT straight on the connection: a consistent snapshot without compiling two queries per read.
      return h.reader.connection().execute(async (conn) => {
        beginRead.run();
        try {
          return await fn(conn);
        } finally {
          if (h.readerRaw.inTransaction) commitRead.run();
        }
      });
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

function openPg(options: DatabaseOptions, plugins: TenantGuardPlugin[]): Db {
  const url = options.databaseUrl as string;
  const h = openPostgres(url, options.poolSize, options.appRole, plugins);
  const adapter = createPostgresAdapter(options.appRole);
  const migrationCtx = { adapter, appRole: options.appRole };
  return {
    adapter,
    location: redactUrl(url),
    stats: { batches: 0, units: 0 },
    write(fn) {
      refuseNested();
      return h.app.transaction().execute((tx) => inWrite.run(true, () => fn(tx)));
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
