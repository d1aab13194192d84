import type { CustosMigration } from './index.js';

/**
 * The key store (src/keys), kept apart from the data: on SQLite the attached
 * file keystore.db (schema `keys`), on PostgreSQL the schema `custos_keys`.
 * Wrapped keys, series state, the rewrap job cursor and the erasure ledger.
 */
export const m0008KeyStore: CustosMigration = {
  name: '0008-key-store',
  async up(db, { adapter }) {
    const t = adapter.types;
    const schema = adapter.keyStoreSchema;
    await adapter.createKeyStoreSchema(db);
    const ks = db.schema.withSchema(schema);

    await ks
      .createTable('key_series')
      .addColumn('owner', t.text, (c) => c.notNull())
      .addColumn('purpose', t.text, (c) => c.notNull())
      .addColumn('ref', t.text, (c) => c.notNull())
      .addColumn('current_version', t.int, (c) => c.notNull())
      .addColumn('min_version', t.int, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('destroyed_at', t.timestamp)
      .addPrimaryKeyConstraint('key_series_pk', ['owner', 'purpose', 'ref'])
      .execute();
    await adapter.grant(db, 'key_series', ['SELECT', 'INSERT', 'UPDATE'], schema);

    await ks
      .createTable('key_versions')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('owner', t.text, (c) => c.notNull())
      .addColumn('purpose', t.text, (c) => c.notNull())
      .addColumn('ref', t.text, (c) => c.notNull())
      .addColumn('version', t.int, (c) => c.notNull())
      .addColumn('parent_id', t.uuid)
      .addColumn('root_version', t.int)
      .addColumn('wrapped', t.bytes)
      .addColumn('usage_reserved', t.bigint, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('superseded_at', t.timestamp)
      .addColumn('retired_at', t.timestamp)
      .addColumn('destroyed_at', t.timestamp)
      .addUniqueConstraint('key_versions_series_version', ['owner', 'purpose', 'ref', 'version'])
      .execute();
    // Rewrap jobs find what an old root version or an old KEK still wraps.
    await adapter.createIndex(db, 'key_versions_root', 'key_versions', ['root_version'], schema);
    await adapter.createIndex(db, 'key_versions_parent', 'key_versions', ['parent_id'], schema);
    await adapter.grant(db, 'key_versions', ['SELECT', 'INSERT', 'UPDATE'], schema);

    // Every crypto-shredding, replayed by every restore: append-only.
    await ks
      .createTable('erasure_ledger')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('erased_at', t.timestamp, (c) => c.notNull())
      .addColumn('scope', t.text, (c) => c.notNull())
      .addColumn('tenant_id', t.text, (c) => c.notNull())
      .addColumn('subject_id', t.text)
      .addColumn('key_ids', t.json, (c) => c.notNull())
      .addColumn('reason', t.text, (c) => c.notNull())
      .addColumn('actor', t.text, (c) => c.notNull())
      .addColumn('request_id', t.text, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'erasure_ledger', ['SELECT', 'INSERT'], schema);
    await adapter.makeAppendOnly(db, 'erasure_ledger', schema);

    await ks
      .createTable('rewrap_jobs')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('scope', t.text, (c) => c.notNull())
      .addColumn('owner', t.text, (c) => c.notNull())
      .addColumn('target', t.text, (c) => c.notNull())
      .addColumn('state', t.text, (c) => c.notNull())
      .addColumn('total', t.int, (c) => c.notNull())
      .addColumn('done', t.int, (c) => c.notNull())
      .addColumn('cursor', t.text)
      .addColumn('started_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('finished_at', t.timestamp)
      .execute();
    await adapter.grant(db, 'rewrap_jobs', ['SELECT', 'INSERT', 'UPDATE'], schema);

    await ks
      .createTable('key_store_meta')
      .addColumn('name', t.text, (c) => c.primaryKey())
      .addColumn('value', t.bigint, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'key_store_meta', ['SELECT', 'INSERT', 'UPDATE'], schema);
  },
};
