import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect, sql, type KyselyPlugin } from 'kysely';
import type { Database } from '../types.js';
import type { DialectAdapter } from './adapter.js';
import { createPostgresAudit } from './postgres-audit.js';

const TIMESTAMPTZ = 1184;
const INT8 = 20;

// Times come back as ISO-8601 UTC strings and int8 as numbers, the same as on SQLite.
function getTypeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === TIMESTAMPTZ) return (v) => new Date(v).toISOString();
  if (oid === INT8) return (v) => Number(v);
  return pg.types.getTypeParser(oid, format as 'text');
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe identifier ${name}`);
  return `"${name}"`;
}

/** The key store's own schema, apart from the data in `public`. */
const KEY_STORE_SCHEMA = 'custos_keys';

function qualified(table: string, schema?: string): string {
  return schema ? `${quoteIdent(schema)}.${quoteIdent(table)}` : quoteIdent(table);
}

export function createPostgresAdapter(appRole: string): DialectAdapter {
  const role = quoteIdent(appRole);
  return {
    name: 'postgres',
    capabilities: { rowLevelSecurity: true, groupCommit: false },
    types: {
      uuid: 'uuid',
      timestamp: 'timestamptz',
      text: 'text',
      json: 'text',
      bytes: 'bytea',
      bigint: 'bigint',
      int: 'integer',
    },
    serial: 'bigserial',
    serialPrimaryKey: (col) => col.primaryKey(),
    async setTenant(tx, tenantId) {
      // is_local = true: the setting dies with the transaction, so a pooled connection never carries it on.
      await sql`select set_config('custos.tenant_id', ${tenantId}, true)`.execute(tx);
    },
    async secureTenantTable(db, table) {
      const t = quoteIdent(table);
      await sql.raw(`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`).execute(db);
      await sql.raw(`ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`).execute(db);
      const pin = `tenant_id = nullif(current_setting('custos.tenant_id', true), '')::uuid`;
      await sql.raw(`CREATE POLICY tenant_isolation ON ${t} USING (${pin}) WITH CHECK (${pin})`).execute(db);
      await sql.raw(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${role}`).execute(db);
    },
    async grant(db, table, privileges, schema) {
      await sql.raw(`GRANT ${privileges.join(', ')} ON ${qualified(table, schema)} TO ${role}`).execute(db);
    },
    keyStoreSchema: KEY_STORE_SCHEMA,
    async createKeyStoreSchema(db) {
      const s = quoteIdent(KEY_STORE_SCHEMA);
      await sql.raw(`CREATE SCHEMA IF NOT EXISTS ${s}`).execute(db);
      await sql.raw(`GRANT USAGE ON SCHEMA ${s} TO ${role}`).execute(db);
    },
    async createIndex(db, name, table, columns, schema) {
      const cols = columns.map(quoteIdent).join(', ');
      await sql.raw(`CREATE INDEX ${quoteIdent(name)} ON ${qualified(table, schema)} (${cols})`).execute(db);
    },
    async makeAppendOnly(db, table, schema) {
      const t = qualified(table, schema);
      await sql.raw(`REVOKE UPDATE, DELETE, TRUNCATE ON ${t} FROM ${role}`).execute(db);
      await sql
        .raw(
          `CREATE OR REPLACE FUNCTION custos_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ ` +
            `BEGIN RAISE EXCEPTION 'custos: % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$`,
        )
        .execute(db);
      await sql
        .raw(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION custos_append_only()`)
        .execute(db);
      await sql
        .raw(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION custos_append_only()`)
        .execute(db);
    },
    isUniqueViolation(error) {
      return (error as { code?: string }).code === '23505';
    },
    isAppendOnlyViolation(error) {
      const code = (error as { code?: string }).code;
      return code === '42501' || /is append-only/.test(String((error as Error).message));
    },
    audit: createPostgresAudit(role),
  };
}

/** Creates the application role once per cluster; safe when several migrations race. */
export async function ensureAppRole(db: Kysely<unknown>, appRole: string): Promise<void> {
  const role = quoteIdent(appRole);
  await sql
    .raw(
      `DO $$ BEGIN CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; ` +
        `EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
    )
    .execute(db);
  await sql.raw(`GRANT USAGE ON SCHEMA public TO ${role}`).execute(db);
  // The connecting user must be able to SET ROLE to it (a superuser always can).
  await sql.raw(`DO $$ BEGIN EXECUTE format('GRANT %I TO %I', '${appRole}', current_user); EXCEPTION WHEN others THEN NULL; END $$`).execute(db);
}

export interface PostgresHandles {
  pool: pg.Pool;
  /** Runs as the application role: RLS applies to everything it does. */
  app: Kysely<Database>;
  /** Runs as the connecting user; only migrations use it. */
  owner: Kysely<Database>;
  ownerPool: pg.Pool;
}

export function openPostgres(url: string, poolSize: number, appRole: string, plugins: KyselyPlugin[]): PostgresHandles {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: { getTypeParser } as never });
  const ownerPool = new pg.Pool({ connectionString: url, max: 2, types: { getTypeParser } as never });
  // Never let a pool error (e.g. server restart) crash the process; queries report their own errors.
  pool.on('error', () => {});
  ownerPool.on('error', () => {});
  const role = quoteIdent(appRole);
  const app = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool,
      onCreateConnection: async (conn) => {
        await conn.executeQuery(CompiledQuery.raw(`SET ROLE ${role}`));
      },
    }),
    plugins,
  });
  const owner = new Kysely<Database>({ dialect: new PostgresDialect({ pool: ownerPool }) });
  return { pool, app, owner, ownerPool };
}
