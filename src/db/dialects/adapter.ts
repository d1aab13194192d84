import type { ColumnDataType, ColumnDefinitionBuilder, Expression, Kysely } from 'kysely';
import type { Tx } from '../types.js';
import type { AuditDialect } from './audit.js';

// Kysely's own type for a column's data type expression.
export type ColumnType = ColumnDataType | Expression<unknown>;

/**
 * Everything that differs between SQLite and PostgreSQL, in one place
 * (CONVENTIONS: no `if (dialect === 'postgres')` outside db/dialects/).
 */
export interface DialectAdapter {
  readonly name: 'sqlite' | 'postgres';
  readonly capabilities: {
    /** Row-level security backs the tenant scope. */
    readonly rowLevelSecurity: boolean;
    /** Concurrent units of work share one transaction (SAVEPOINT each). */
    readonly groupCommit: boolean;
  };
  readonly types: {
    readonly uuid: ColumnType;
    readonly timestamp: ColumnType;
    readonly text: ColumnType;
    readonly json: ColumnType;
    readonly bytes: ColumnType;
    readonly bigint: ColumnType;
    readonly int: ColumnType;
  };
  /** Type of an auto-assigned, strictly increasing integer key, and its column definition. */
  readonly serial: ColumnType;
  serialPrimaryKey(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** Pins the tenant for the rest of the transaction (PostgreSQL: set_config(…, true)). */
  setTenant(tx: Tx, tenantId: string): Promise<void>;
  /** Migration step for a new tenant table: RLS policy, FORCEd; grants to the app role. */
  secureTenantTable(db: Kysely<unknown>, table: string): Promise<void>;
  /** Migration step for a platform table (in `schema`, default the main one): grants the listed privileges to the app role. */
  grant(
    db: Kysely<unknown>,
    table: string,
    privileges: ReadonlyArray<'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'>,
    schema?: string,
  ): Promise<void>;
  /** Migration step: the database itself refuses UPDATE, DELETE (and TRUNCATE) on the table (in `schema`, default the main one). */
  makeAppendOnly(db: Kysely<unknown>, table: string, schema?: string): Promise<void>;
  /**
   * Where the key store lives, kept apart from the data: SQLite attaches
   * `<dataDir>/keystore.db` to every connection under this name; PostgreSQL
   * uses a schema of this name. Data backups copy the data only.
   */
  readonly keyStoreSchema: string;
  /** Migration step: creates the key store's schema and lets the app role use it (SQLite: attached at connect, nothing to do). */
  createKeyStoreSchema(db: Kysely<unknown>): Promise<void>;
  /** Migration step: a plain index on `table(columns)` in `schema` (SQLite and PostgreSQL qualify it differently). */
  createIndex(db: Kysely<unknown>, name: string, table: string, columns: readonly string[], schema?: string): Promise<void>;
  /** True when the error is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
  /** True when the error is the append-only refusal. */
  isAppendOnlyViolation(error: unknown): boolean;
  /** The audit log's sequencer lock and guarded prune (db/dialects/audit.ts). */
  readonly audit: AuditDialect;
}
