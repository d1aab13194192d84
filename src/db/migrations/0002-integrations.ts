import type { CustosMigration } from './index.js';

export const m0002Integrations: CustosMigration = {
  name: '0002-integrations',
  async up(db, { adapter }) {
    const t = adapter.types;
    await db.schema
      .createTable('integrations')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('id', t.uuid, (c) => c.notNull())
      .addColumn('kind', t.text, (c) => c.notNull())
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('provider', t.text, (c) => c.notNull())
      // Envelopes (src/crypto), AAD (tenant, "integrations", id, field): never plaintext.
      .addColumn('secret', t.bytes, (c) => c.notNull())
      .addColumn('refresh_secret', t.bytes)
      .addColumn('fingerprint', t.text, (c) => c.notNull())
      .addColumn('scopes', t.text, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp)
      .addColumn('subject_id', t.uuid)
      .addColumn('subject_key_id', t.uuid)
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('last_used_at', t.timestamp)
      .addPrimaryKeyConstraint('integrations_pk', ['tenant_id', 'id'])
      .addUniqueConstraint('integrations_name_unique', ['tenant_id', 'name'])
      .execute();
    await adapter.secureTenantTable(db, 'integrations');
  },
};
