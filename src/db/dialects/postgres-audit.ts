import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { AuditDialect, EntryRunRow } from './audit.js';
import { MOVED_COLUMNS, OUTBOX_FILTERED, packOutboxEvents } from './outbox-audit.js';
import { POSTGRES_ENTRY_RUN, postgresEntryRun } from './postgres-audit-reader.js';

/** Key of the sequencer's advisory lock (any fixed bigint; ASCII "custAUD1"). */
const SEQUENCER_LOCK = 0x63757374_41554431n;

const FLOOR = `coalesce((SELECT max(floor_index) FROM audit_prune_floors), 0)`;
const raise = (why: string) => `RAISE EXCEPTION 'custos: ${why}' USING ERRCODE = 'insufficient_privilege'`;

function guardSql(schema: string, role: string): string[] {
  return [
    // UPDATE always refused; DELETE only below the floor (the owner's prune function is the only caller with the privilege).
    `CREATE OR REPLACE FUNCTION custos_audit_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
      `IF TG_OP = 'DELETE' AND OLD.idx < ${FLOOR} THEN RETURN OLD; END IF; ` +
      `RAISE EXCEPTION 'custos: % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$`,
    `DROP TRIGGER audit_entries_append_only ON audit_entries`,
    `CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries FOR EACH ROW EXECUTE FUNCTION custos_audit_entries_guard()`,
    `CREATE OR REPLACE FUNCTION custos_audit_floor_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
      `IF NEW.floor_index <= ${FLOOR} THEN ${raise('the audit prune floor only rises')}; END IF; ` +
      `IF NEW.floor_index > coalesce((SELECT max(size) FROM audit_checkpoints), 0) THEN ${raise('the audit prune floor must lie within a signed checkpoint')}; END IF; ` +
      `IF EXISTS (SELECT 1 FROM audit_entries WHERE idx < NEW.floor_index AND recorded_at > now() - make_interval(days => NEW.retention_days)) ` +
      `THEN ${raise('audit entries below the prune floor must be past retention')}; END IF; ` +
      `IF (SELECT count(*) FROM audit_nodes WHERE level = 0 AND idx >= ${FLOOR} AND idx < NEW.floor_index) <> NEW.floor_index - ${FLOOR} ` +
      `OR EXISTS (SELECT 1 FROM audit_entries e LEFT JOIN audit_nodes n ON n.level = 0 AND n.idx = e.idx ` +
      `WHERE e.idx < NEW.floor_index AND (n.hash IS NULL OR n.hash <> e.leaf_hash)) ` +
      `THEN ${raise('leaf hashes below the prune floor must be kept as nodes')}; END IF; ` +
      `RETURN NEW; END $$`,
    `CREATE TRIGGER audit_prune_floors_guard BEFORE INSERT ON audit_prune_floors FOR EACH ROW EXECUTE FUNCTION custos_audit_floor_guard()`,
    // The application role has no DELETE on audit_entries and no INSERT on audit_prune_floors: it prunes
    // only through this function, which runs as the owner and does exactly the three guarded steps.
    `CREATE OR REPLACE FUNCTION custos_audit_prune(p_floor bigint, p_before timestamptz, p_retention_days integer, ` +
      `p_archive_sha256 text, p_created_at timestamptz) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER ` +
      `SET search_path = ${schema}, pg_temp AS $$ DECLARE old_floor bigint; deleted bigint; BEGIN ` +
      `SELECT ${FLOOR} INTO old_floor; ` +
      `INSERT INTO audit_nodes (level, idx, hash) SELECT 0, idx, leaf_hash FROM audit_entries WHERE idx >= old_floor AND idx < p_floor; ` +
      `INSERT INTO audit_prune_floors (floor_index, cutoff, retention_days, archive_sha256, created_at) ` +
      `VALUES (p_floor, p_before, p_retention_days, p_archive_sha256, p_created_at); ` +
      `DELETE FROM audit_entries WHERE idx < p_floor; GET DIAGNOSTICS deleted = ROW_COUNT; RETURN deleted; END $$`,
    `REVOKE ALL ON FUNCTION custos_audit_prune(bigint, timestamptz, integer, text, timestamptz) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION custos_audit_prune(bigint, timestamptz, integer, text, timestamptz) TO ${role}`,
  ];
}

const OUTBOX_EVENTS = `SELECT seq, event, ${OUTBOX_FILTERED} AS filtered FROM audit_outbox ORDER BY seq LIMIT $1`;

/**
 * One statement, one round trip: the DELETE hands its rows to the INSERT, so
 * the events never travel back. Params: first, last, start, leaves.
 */
const MOVE_RUN =
  `WITH moved AS (DELETE FROM audit_outbox WHERE seq >= $1 AND seq <= $2 RETURNING seq, ${MOVED_COLUMNS}), ` +
  `copied AS (INSERT INTO audit_entries (idx, ${MOVED_COLUMNS}, leaf_hash) ` +
  `SELECT $3::bigint + (seq - $1), ${MOVED_COLUMNS}, substring($4::bytea FROM ((seq - $1) * 32 + 1)::int FOR 32) FROM moved RETURNING 1) ` +
  `SELECT (SELECT count(*) FROM copied)::int AS inserted, (SELECT count(*) FROM moved)::int AS deleted`;

type PgRunRow = Omit<EntryRunRow, 'data'> & { data: string | null };

export function createPostgresAudit(quotedRole: string): AuditDialect {
  return {
    async tryLockSequencer(tx) {
      const r = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${sql.lit(SEQUENCER_LOCK.toString())}::bigint) as locked`.execute(tx);
      return r.rows[0]?.locked === true;
    },
    async readOutboxEvents(tx, limit) {
      const { rows } = await tx.executeQuery<{ seq: number; event: string; filtered: boolean }>(CompiledQuery.raw(OUTBOX_EVENTS, [limit]));
      // Packed as UTF-8: the bytes the recorder wrote (PostgreSQL text is always valid in its encoding).
      return packOutboxEvents(rows);
    },
    async moveOutboxRun(tx, { first, last, start, leaves }) {
      const { rows } = await tx.executeQuery<{ inserted: number; deleted: number }>(CompiledQuery.raw(MOVE_RUN, [first, last, start, leaves]));
      return rows[0] ?? { inserted: -1, deleted: -1 };
    },
    async installPruneGuard(db: Kysely<unknown>) {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      const schema = `"${String(rows[0]?.schema ?? 'public').replace(/"/g, '""')}"`;
      for (const statement of guardSql(schema, quotedRole)) await sql.raw(statement).execute(db);
    },
    async prune(tx, r) {
      const result = await sql<{ deleted: number }>`select custos_audit_prune(${r.floor}, ${r.before}, ${r.retentionDays}, ${r.archiveSha256}, ${r.createdAt}) as deleted`.execute(tx);
      return Number(result.rows[0]?.deleted ?? 0);
    },
    async readEntryRun(tx, from, to) {
      const { rows } = await tx.executeQuery<PgRunRow>(CompiledQuery.raw(POSTGRES_ENTRY_RUN, [from, to]));
      return postgresEntryRun(rows[0] as PgRunRow);
    },
  };
}
