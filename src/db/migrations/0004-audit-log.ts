import { sql, type Kysely } from 'kysely';
import type { CustosMigration, MigrationContext } from './index.js';

/** Filter columns the recorder now writes to the outbox and the sequencer copies into audit_entries. */
const OUTBOX_COLUMNS = ['action', 'actor_type', 'actor_id', 'target_type', 'target_id', 'outcome'] as const;

async function createEntries(db: Kysely<unknown>, { adapter }: MigrationContext): Promise<void> {
  const t = adapter.types;
  await db.schema
    .createTable('audit_entries')
    .addColumn('idx', t.bigint, (c) => c.primaryKey())
    .addColumn('event_id', t.uuid, (c) => c.notNull().unique())
    .addColumn('recorded_at', t.timestamp, (c) => c.notNull())
    .addColumn('tenant_id', t.uuid)
    .addColumn('class_uid', t.int, (c) => c.notNull())
    .addColumn('activity_id', t.int, (c) => c.notNull())
    .addColumn('action', t.text, (c) => c.notNull())
    .addColumn('actor_type', t.text, (c) => c.notNull())
    .addColumn('actor_id', t.text, (c) => c.notNull())
    .addColumn('target_type', t.text)
    .addColumn('target_id', t.text)
    .addColumn('outcome', t.text, (c) => c.notNull())
    .addColumn('event', t.json, (c) => c.notNull())
    .addColumn('leaf_hash', t.bytes, (c) => c.notNull())
    .execute();
  // Filters page by index within one of these (or scan by index for class and outcome).
  await db.schema.createIndex('audit_entries_recorded_at').on('audit_entries').column('recorded_at').execute();
  for (const col of ['tenant_id', 'actor_id', 'target_id']) {
    await db.schema.createIndex(`audit_entries_${col}`).on('audit_entries').columns([col, 'idx']).execute();
  }
}

/**
 * 0004: the sequenced audit log (src/audit/README.md). Entries, the Merkle
 * nodes proofs need (one row per perfect subtree of level >= 4, lower ones
 * are recomputed from leaf hashes; level-0 rows only for pruned entries,
 * whose leaf hashes stay), signed checkpoints, the
 * prune floors and a little state. Entries, nodes, checkpoints and floors are
 * append-only for the application; entries below the recorded prune floor
 * may be deleted (guarded in the database, see db/dialects/*-audit.ts).
 */
export const m0004AuditLog: CustosMigration = {
  name: '0004-audit-log',
  async up(db, ctx) {
    const { adapter } = ctx;
    const t = adapter.types;
    for (const col of OUTBOX_COLUMNS) {
      await db.schema.alterTable('audit_outbox').addColumn(col, t.text).execute();
    }
    await createEntries(db, ctx);
    await db.schema
      .createTable('audit_nodes')
      .addColumn('level', t.int, (c) => c.notNull())
      .addColumn('idx', t.bigint, (c) => c.notNull())
      .addColumn('hash', t.bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_nodes_pk', ['level', 'idx'])
      .execute();
    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('size', t.bigint, (c) => c.primaryKey())
      .addColumn('root', t.bytes, (c) => c.notNull())
      .addColumn('note', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('audit_prune_floors')
      .addColumn('floor_index', t.bigint, (c) => c.primaryKey())
      .addColumn('cutoff', t.timestamp, (c) => c.notNull())
      .addColumn('retention_days', t.int, (c) => c.notNull().check(sql`retention_days >= 365`))
      .addColumn('archive_sha256', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('audit_state')
      .addColumn('name', t.text, (c) => c.primaryKey())
      .addColumn('value', t.text, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    for (const table of ['audit_entries', 'audit_nodes', 'audit_checkpoints', 'audit_prune_floors']) {
      await adapter.makeAppendOnly(db, table);
    }
    await adapter.grant(db, 'audit_entries', ['SELECT', 'INSERT']);
    await adapter.grant(db, 'audit_nodes', ['SELECT', 'INSERT']);
    await adapter.grant(db, 'audit_checkpoints', ['SELECT', 'INSERT']);
    // Floors are written only by the guarded prune (on PostgreSQL a function running as the owner).
    await adapter.grant(db, 'audit_prune_floors', ['SELECT']);
    await adapter.grant(db, 'audit_state', ['SELECT', 'INSERT', 'UPDATE']);
    await adapter.audit.installPruneGuard(db);
  },
};
