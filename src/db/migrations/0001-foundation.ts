import { sql } from 'kysely';
import { ensureAppRole } from '../dialects/postgres.js';
import type { CustosMigration } from './index.js';

export const m0001Foundation: CustosMigration = {
  name: '0001-foundation',
  async up(db, { adapter, appRole }) {
    const t = adapter.types;
    if (adapter.capabilities.rowLevelSecurity) await ensureAppRole(db, appRole);

    await db.schema
      .createTable('tenants')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('slug', t.text, (c) => c.notNull().unique())
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('state', t.text, (c) => c.notNull().check(sql`state in ('active','suspended','closed','purged')`))
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('state_changed_at', t.timestamp, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'tenants', ['SELECT', 'INSERT', 'UPDATE']);

    // The transactional outbox: written in the same transaction as each change,
    // consumed in order by the audit sequencer.
    await db.schema
      .createTable('audit_outbox')
      .addColumn('seq', adapter.serial, (c) => adapter.serialPrimaryKey(c))
      .addColumn('event_id', t.uuid, (c) => c.notNull().unique())
      .addColumn('recorded_at', t.timestamp, (c) => c.notNull())
      .addColumn('tenant_id', t.uuid)
      .addColumn('class_uid', t.int, (c) => c.notNull())
      .addColumn('activity_id', t.int, (c) => c.notNull())
      .addColumn('event', t.json, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'audit_outbox', ['SELECT', 'INSERT', 'DELETE']);
    if (adapter.name === 'postgres') {
      await sql.raw(`GRANT USAGE ON SEQUENCE audit_outbox_seq_seq TO "${appRole}"`).execute(db);
    }

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('principal', t.text, (c) => c.notNull())
      .addColumn('idem_key', t.text, (c) => c.notNull())
      .addColumn('method', t.text, (c) => c.notNull())
      .addColumn('route', t.text, (c) => c.notNull())
      .addColumn('request_hash', t.text, (c) => c.notNull())
      .addColumn('status_code', t.int, (c) => c.notNull())
      .addColumn('response', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['principal', 'idem_key'])
      .execute();
    await adapter.grant(db, 'idempotency_keys', ['SELECT', 'INSERT', 'DELETE']);

    await db.schema
      .createTable('bootstrap_tokens')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('token_hash', t.text, (c) => c.notNull().unique())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .addColumn('revoked_at', t.timestamp)
      .execute();
    await adapter.grant(db, 'bootstrap_tokens', ['SELECT', 'INSERT', 'UPDATE']);
  },
};
