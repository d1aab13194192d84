import type { CustosMigration } from './index.js';

/**
 * Durable cursors of the audit forwarders (audit/forward): one row per
 * forwarder, advanced only after its destination acknowledged a batch.
 */
export const m0005AuditForwarders: CustosMigration = {
  name: '0005-audit-forwarders',
  async up(db, { adapter }) {
    const t = adapter.types;
    await db.schema
      .createTable('audit_forwarder_cursors')
      .addColumn('name', t.text, (c) => c.primaryKey())
      .addColumn('next_index', t.bigint, (c) => c.notNull())
      .addColumn('checkpoint_size', t.bigint, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'audit_forwarder_cursors', ['SELECT', 'INSERT', 'UPDATE']);
  },
};
