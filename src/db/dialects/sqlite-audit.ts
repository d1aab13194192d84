import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { AuditDialect, EntryRunRow } from './audit.js';
import { SQLITE_ENTRY_RUN, sqliteEntryRun } from './sqlite-audit-reader.js';
import { MOVED_COLUMNS, OUTBOX_FILTERED, unpackOutboxEvents, type OutboxAggregate } from './outbox-audit.js';

const FLOOR = `coalesce((SELECT max(floor_index) FROM audit_prune_floors), 0)`;
const refuse = (why: string) => `SELECT RAISE(ABORT, 'custos: ${why}')`;

/**
 * Triggers guarding prunes on SQLite. There are no privileges on SQLite, so
 * the triggers are the whole guard: an entry can be deleted only below the
 * highest recorded floor, and a floor row is accepted only when it rises,
 * stays within the signed tree, covers only entries older than its retention
 * (>= 365 days, a CHECK) and the leaf hashes it covers are kept as level-0 nodes.
 */
const PRUNE_GUARD = [
  `DROP TRIGGER audit_entries_no_delete`,
  `CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries WHEN OLD.idx >= ${FLOOR} ` +
    `BEGIN ${refuse('audit_entries is append-only')}; END`,
  `CREATE TRIGGER audit_prune_floors_guard BEFORE INSERT ON audit_prune_floors BEGIN ` +
    `${refuse('the audit prune floor only rises')} WHERE NEW.floor_index <= ${FLOOR}; ` +
    `${refuse('the audit prune floor must lie within a signed checkpoint')} ` +
    `WHERE NEW.floor_index > coalesce((SELECT max(size) FROM audit_checkpoints), 0); ` +
    `${refuse('audit entries below the prune floor must be past retention')} WHERE EXISTS (SELECT 1 FROM audit_entries ` +
    `WHERE idx < NEW.floor_index AND recorded_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || NEW.retention_days || ' days')); ` +
    `${refuse('leaf hashes below the prune floor must be kept as nodes')} WHERE ` +
    `(SELECT count(*) FROM audit_nodes WHERE level = 0 AND idx >= ${FLOOR} AND idx < NEW.floor_index) <> NEW.floor_index - ${FLOOR} ` +
    `OR EXISTS (SELECT 1 FROM audit_entries e LEFT JOIN audit_nodes n ON n.level = 0 AND n.idx = e.idx ` +
    `WHERE e.idx < NEW.floor_index AND (n.hash IS NULL OR n.hash <> e.leaf_hash)); ` +
    `END`,
];

/**
 * The oldest outbox rows as one aggregate row (one pass, so every aggregate
 * sees the rows in the same order; the caller checks the seqs ascend):
 * group_concat keeps the events' stored bytes, no string per row.
 */
const OUTBOX_EVENTS =
  `SELECT count(*) AS n, min(f) AS filtered, group_concat(seq) AS seqs, group_concat(octet_length(event)) AS lens, ` +
  `CAST(' ' || group_concat(event, ' ') AS BLOB) AS data ` +
  `FROM (SELECT seq, event, ${OUTBOX_FILTERED} AS f FROM audit_outbox ORDER BY seq LIMIT ?)`;

/** Params: start, first, leaves, first, first, last. The rows never leave SQLite; substr on a BLOB counts bytes. */
const COPY_RUN =
  `INSERT INTO audit_entries (idx, ${MOVED_COLUMNS}, leaf_hash) ` +
  `SELECT ? + (seq - ?), ${MOVED_COLUMNS}, substr(?, (seq - ?) * 32 + 1, 32) FROM audit_outbox WHERE seq >= ? AND seq <= ?`;
const DELETE_RUN = `DELETE FROM audit_outbox WHERE seq >= ? AND seq <= ?`;

export const sqliteAudit: AuditDialect = {
  async tryLockSequencer() {
    // BEGIN IMMEDIATE (group commit) holds SQLite's one write lock for the whole batch.
    return true;
  },
  async readOutboxEvents(tx, limit) {
    const { rows } = await tx.executeQuery<OutboxAggregate>(CompiledQuery.raw(OUTBOX_EVENTS, [limit]));
    return unpackOutboxEvents(rows[0] as OutboxAggregate);
  },
  async moveOutboxRun(tx, { first, last, start, leaves }) {
    const copied = await tx.executeQuery(CompiledQuery.raw(COPY_RUN, [start, first, leaves, first, first, last]));
    const deleted = await tx.executeQuery(CompiledQuery.raw(DELETE_RUN, [first, last]));
    return { inserted: Number(copied.numAffectedRows ?? -1), deleted: Number(deleted.numAffectedRows ?? -1) };
  },
  async installPruneGuard(db: Kysely<unknown>) {
    for (const statement of PRUNE_GUARD) await sql.raw(statement).execute(db);
  },
  async prune(tx, r) {
    const floor = Number((await tx.selectFrom('audit_prune_floors').select((eb) => eb.fn.max('floor_index').as('f')).executeTakeFirst())?.f ?? 0);
    await tx
      .insertInto('audit_nodes')
      .columns(['level', 'idx', 'hash'])
      .expression((eb) =>
        eb.selectFrom('audit_entries').select([sql<number>`0`.as('level'), 'idx', 'leaf_hash']).where('idx', '>=', floor).where('idx', '<', r.floor),
      )
      .execute();
    await tx
      .insertInto('audit_prune_floors')
      .values({ floor_index: r.floor, cutoff: r.before, retention_days: r.retentionDays, archive_sha256: r.archiveSha256, created_at: r.createdAt })
      .execute();
    const deleted = await tx.deleteFrom('audit_entries').where('idx', '<', r.floor).executeTakeFirst();
    return Number(deleted.numDeletedRows);
  },
  async readEntryRun(tx, from, to) {
    const { rows } = await tx.executeQuery<EntryRunRow>(CompiledQuery.raw(SQLITE_ENTRY_RUN, [from, to]));
    return sqliteEntryRun(rows[0] as EntryRunRow);
  },
};
