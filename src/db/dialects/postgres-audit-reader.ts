/**
 * The audit log as verification reads it on PostgreSQL, on a connection of
 * its own as the application role, read-only (audit-reader.ts). No Kysely
 * here: a worker thread loads this file and pg only.
 */
import pg from 'pg';
import type { EntryRunRow } from './audit.js';
import type { AuditLogReader } from './audit-reader.js';

/**
 * The entries of a range in index order (the sorted subquery feeds every
 * aggregate in that order; the caller checks it through idxs). Events come
 * as one text, turned into UTF-8 bytes once; PostgreSQL text is always valid
 * in the server encoding, so those are the stored bytes.
 */
export const POSTGRES_ENTRY_RUN =
  `SELECT count(*)::int AS n, count(*) FILTER (WHERE event IS NOT NULL AND octet_length(leaf_hash) = 32)::int AS complete, ` +
  `string_agg(idx::text, ',') AS idxs, string_agg(octet_length(event)::text, ',') AS lens, ` +
  `' ' || string_agg(event, ' ') AS data, string_agg(leaf_hash, ''::bytea) AS leaves ` +
  `FROM (SELECT idx, event, leaf_hash FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx) e`;

/** The row as EntryRunRow types it (the events arrive as one text). */
export function postgresEntryRun(row: Omit<EntryRunRow, 'data'> & { data: string | null }): EntryRunRow {
  return { ...row, data: row.data === null ? null : Buffer.from(row.data, 'utf8') };
}

// The same queries as audit/store.ts entryPage and checkpointPage.
const ENTRY_PAGE = `SELECT idx, event, leaf_hash FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3`;
const CHECKPOINT_PAGE = `SELECT size, note FROM audit_checkpoints WHERE size > $1 AND size <= $2 ORDER BY size LIMIT $3`;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Connects to `url` as `appRole`, every transaction read-only. */
export async function openPostgresAuditReader(url: string, appRole: string): Promise<AuditLogReader> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(`SET ROLE ${quoteIdent(appRole)}`);
    await client.query('SET default_transaction_read_only = on');
  } catch (e) {
    await client.end();
    throw e;
  }
  return {
    entryRun: async (from, to) => postgresEntryRun((await client.query(POSTGRES_ENTRY_RUN, [from, to])).rows[0]),
    entryPage: async (from, end, limit) =>
      (await client.query<{ idx: string; event: string; leaf_hash: Buffer }>(ENTRY_PAGE, [from, end, limit])).rows.map((r) => ({ ...r, idx: Number(r.idx) })),
    checkpointPage: async (after, max, limit) =>
      (await client.query<{ size: string; note: string }>(CHECKPOINT_PAGE, [after, max, limit])).rows.map((r) => ({ size: Number(r.size), note: r.note })),
    close: () => client.end(),
  };
}
