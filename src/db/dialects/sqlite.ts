import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type KyselyPlugin, type SqliteDatabase } from 'kysely';
import type { Database } from '../types.js';
import type { DialectAdapter } from './adapter.js';
import { sqliteAudit } from './sqlite-audit.js';

/** Name under which `<dataDir>/keystore.db` is attached to every connection. */
const KEY_STORE_SCHEMA = 'keys';

export const sqliteAdapter: DialectAdapter = {
  name: 'sqlite',
  capabilities: { rowLevelSecurity: false, groupCommit: true },
  types: { uuid: 'text', timestamp: 'text', text: 'text', json: 'text', bytes: 'blob', bigint: 'integer', int: 'integer' },
  serial: 'integer',
  serialPrimaryKey: (col) => col.primaryKey().autoIncrement(),
  async setTenant() {
    // SQLite has no RLS: the tenant scope's conditions and the guard plugin are the door.
  },
  async secureTenantTable() {},
  async grant() {},
  async makeAppendOnly(db, table, schema) {
    // A trigger lives in its table's schema and names the table unqualified.
    const prefix = schema ? `${schema}.` : '';
    for (const op of ['UPDATE', 'DELETE'] as const) {
      await sql
        .raw(
          `CREATE TRIGGER ${prefix}${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table} ` +
            `BEGIN SELECT RAISE(ABORT, 'custos: ${table} is append-only'); END`,
        )
        .execute(db);
    }
  },
  keyStoreSchema: KEY_STORE_SCHEMA,
  async createKeyStoreSchema() {
    // keystore.db is attached by openSqliteConnection; its tables are created in it by name.
  },
  async createIndex(db, name, table, columns, schema) {
    const cols = columns.map((c) => `"${c}"`).join(', ');
    await sql.raw(`CREATE INDEX ${schema ? `"${schema}".` : ''}"${name}" ON "${table}" (${cols})`).execute(db);
  },
  isUniqueViolation(error) {
    const code = (error as { code?: string }).code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
  isAppendOnlyViolation(error) {
    return /is append-only/.test(String((error as Error).message));
  },
  audit: sqliteAudit,
};

/**
 * Opens one SQLite connection with Custos's durability settings. With
 * `keyStoreFile`, that file is attached as schema `keys` with the same
 * settings, so one transaction can span data, outbox and key store (in WAL
 * mode each file commits atomically, not the set: see src/keys/README.md).
 */
export function openSqliteConnection(file: string, role: 'writer' | 'reader', keyStoreFile?: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(file, { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every COMMIT, so an acknowledged write survives power loss.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  if (keyStoreFile !== undefined) {
    db.prepare(`ATTACH DATABASE ? AS ${KEY_STORE_SCHEMA}`).run(keyStoreFile);
    db.pragma(`${KEY_STORE_SCHEMA}.journal_mode = WAL`);
    db.pragma(`${KEY_STORE_SCHEMA}.synchronous = FULL`);
  }
  if (role === 'reader') {
    db.pragma('query_only = ON');
    // Long scans (audit verify reads the whole log) map the file instead of a pread per page:
    // measured ~0.5 us less CPU per 700-byte audit entry. Reads only; writes keep the usual path.
    db.pragma('mmap_size = 1073741824');
  }
  return db;
}

export interface SqliteHandles {
  writerRaw: BetterSqlite3.Database;
  readerRaw: BetterSqlite3.Database;
  writer: Kysely<Database>;
  reader: Kysely<Database>;
}

const STATEMENT_CACHE = 512;

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than
 * running a small query. This keeps the most recent prepared statements per
 * connection (better-sqlite3 statements are reusable; Kysely never iterates
 * two at once on one connection).
 */
function withStatementCache(db: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (stmt) {
        cache.delete(sqlText);
      } else {
        stmt = db.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sqlText, stmt);
      return stmt as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}

/** A writer and a reader connection to the same file (and key store); readers never see a batch in progress. */
export function openSqlite(file: string, plugins: KyselyPlugin[], keyStoreFile?: string): SqliteHandles {
  const writerRaw = openSqliteConnection(file, 'writer', keyStoreFile);
  const readerRaw = openSqliteConnection(file, 'reader', keyStoreFile);
  return {
    writerRaw,
    readerRaw,
    writer: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(writerRaw) }), plugins }),
    reader: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(readerRaw) }), plugins }),
  };
}
