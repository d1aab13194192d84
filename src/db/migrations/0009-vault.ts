import type { CustosMigration } from './index.js';

/**
 * The personal-data vault (src/vault). Every table is a tenant table:
 * `tenant_id` first in the primary key, FORCEd row-level security on
 * PostgreSQL. Personal values exist here only as envelopes (sealed under the
 * data subject's DEK) and keyed HMAC blind indexes.
 */
export const m0009Vault: CustosMigration = {
  name: '0009-vault',
  async up(db, { adapter }) {
    const t = adapter.types;
    await db.schema
      .createTable('vault_collections')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('id', t.uuid, (c) => c.notNull())
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('version', t.int, (c) => c.notNull())
      // The current schema (fields, subject field, retention) as JSON: names and rules only, never values.
      .addColumn('schema', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('vault_collections_pk', ['tenant_id', 'id'])
      .addUniqueConstraint('vault_collections_name_unique', ['tenant_id', 'name'])
      .execute();
    await db.schema
      .createTable('vault_collection_versions')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('collection_id', t.uuid, (c) => c.notNull())
      .addColumn('version', t.int, (c) => c.notNull())
      .addColumn('schema', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('created_by', t.text, (c) => c.notNull())
      .addPrimaryKeyConstraint('vault_collection_versions_pk', ['tenant_id', 'collection_id', 'version'])
      .execute();
    // One row per way of recognising a data subject (the HMAC of a subject-field value); several may name one subject.
    await db.schema
      .createTable('vault_subjects')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('lookup', t.text, (c) => c.notNull())
      .addColumn('subject_id', t.uuid, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('vault_subjects_pk', ['tenant_id', 'lookup'])
      .execute();
    await adapter.createIndex(db, 'vault_subjects_subject', 'vault_subjects', ['tenant_id', 'subject_id']);
    await db.schema
      .createTable('vault_records')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('id', t.uuid, (c) => c.notNull())
      .addColumn('collection_id', t.uuid, (c) => c.notNull())
      .addColumn('subject_id', t.uuid, (c) => c.notNull())
      .addColumn('version', t.int, (c) => c.notNull())
      // JSON: field → base64 envelope (AAD: tenant, collection, record, field, format version).
      .addColumn('sealed', t.json, (c) => c.notNull())
      // JSON: field → value, for fields the schema declares non-personal.
      .addColumn('plain', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('vault_records_pk', ['tenant_id', 'id'])
      .execute();
    await adapter.createIndex(db, 'vault_records_collection', 'vault_records', ['tenant_id', 'collection_id', 'id']);
    await adapter.createIndex(db, 'vault_records_subject', 'vault_records', ['tenant_id', 'subject_id']);
    // Blind-index rows. `slot` is '' for unique fields (so the primary key refuses a second record with
    // the same value) and the record id otherwise.
    await db.schema
      .createTable('vault_index')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('collection_id', t.uuid, (c) => c.notNull())
      .addColumn('field', t.text, (c) => c.notNull())
      .addColumn('hmac', t.text, (c) => c.notNull())
      .addColumn('slot', t.text, (c) => c.notNull())
      .addColumn('record_id', t.uuid, (c) => c.notNull())
      .addColumn('subject_id', t.uuid, (c) => c.notNull())
      .addPrimaryKeyConstraint('vault_index_pk', ['tenant_id', 'collection_id', 'field', 'hmac', 'slot'])
      .execute();
    await adapter.createIndex(db, 'vault_index_record', 'vault_index', ['tenant_id', 'record_id']);
    await db.schema
      .createTable('vault_files')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('id', t.uuid, (c) => c.notNull())
      .addColumn('collection_id', t.uuid, (c) => c.notNull())
      .addColumn('record_id', t.uuid, (c) => c.notNull())
      .addColumn('field', t.text, (c) => c.notNull())
      .addColumn('subject_id', t.uuid, (c) => c.notNull())
      .addColumn('blob_id', t.text, (c) => c.notNull())
      // The file's content key, sealed under the subject DEK (vault/files): the blob alone opens nothing.
      .addColumn('wrapped_key', t.bytes, (c) => c.notNull())
      .addColumn('sha256', t.text, (c) => c.notNull())
      .addColumn('size', t.bigint, (c) => c.notNull())
      .addColumn('media_type', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('vault_files_pk', ['tenant_id', 'id'])
      .addUniqueConstraint('vault_files_field_unique', ['tenant_id', 'record_id', 'field'])
      .execute();
    await adapter.createIndex(db, 'vault_files_subject', 'vault_files', ['tenant_id', 'subject_id']);
    for (const table of ['vault_collections', 'vault_collection_versions', 'vault_subjects', 'vault_records', 'vault_index', 'vault_files']) {
      await adapter.secureTenantTable(db, table);
    }
  },
};
