import pg from 'pg';

/** The PostgreSQL server tests use, or undefined (then storage tests run on SQLite only). */
export const PG_URL = process.env.CUSTOS_TEST_PG_URL || undefined;

export const TEMPLATE_DB = `custos_tpl_${process.env.CUSTOS_TEST_RUN_ID ?? 'local'}`;

export function urlFor(database: string): string {
  const u = new URL(PG_URL as string);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(sqlText: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await client.query(sqlText);
  } finally {
    await client.end();
  }
}

let counter = 0;

/** A fresh database copied from the migrated template; dropped by the returned function. */
export async function freshPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `custos_t_${process.env.CUSTOS_TEST_RUN_ID ?? 'local'}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
  return { url: urlFor(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined) };
}
