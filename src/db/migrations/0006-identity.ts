import { sql } from 'kysely';
import type { CustosMigration } from './index.js';

/**
 * Identity and access (src/identity, src/access). Accounts, sessions, API keys
 * and throttle counters are platform tables: they are looked up before any
 * tenant is known (login, bearer resolution). They hold no personal data in
 * clear: emails are a blind index plus a sealed envelope. Custom tenant roles
 * are tenant tables (scopeTenant + RLS).
 */
export const m0006Identity: CustosMigration = {
  name: '0006-identity',
  async up(db, { adapter }) {
    const t = adapter.types;
    await db.schema
      .createTable('accounts')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      // 'platform' or the tenant id: emails are unique per realm.
      .addColumn('realm', t.text, (c) => c.notNull())
      .addColumn('tenant_id', t.uuid, (c) => c.references('tenants.id'))
      .addColumn('email_index', t.text, (c) => c.notNull())
      .addColumn('email_sealed', t.bytes, (c) => c.notNull())
      .addColumn('name_sealed', t.bytes, (c) => c.notNull())
      .addColumn('password_hash', t.text)
      .addColumn('status', t.text, (c) => c.notNull().check(sql`status in ('active','deactivated')`))
      .addColumn('roles', t.text, (c) => c.notNull())
      .addColumn('mfa_required', t.int, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('password_changed_at', t.timestamp)
      .addColumn('deactivated_at', t.timestamp)
      .addUniqueConstraint('accounts_realm_email_unique', ['realm', 'email_index'])
      .execute();
    await adapter.grant(db, 'accounts', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema
      .createTable('invitations')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('token_hash', t.text, (c) => c.notNull().unique())
      .addColumn('realm', t.text, (c) => c.notNull())
      .addColumn('tenant_id', t.uuid, (c) => c.references('tenants.id'))
      .addColumn('email_index', t.text, (c) => c.notNull())
      .addColumn('roles', t.text, (c) => c.notNull())
      .addColumn('created_by', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .addColumn('used_at', t.timestamp)
      .execute();
    await adapter.grant(db, 'invitations', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema
      .createTable('sessions')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('token_hash', t.text, (c) => c.notNull().unique())
      .addColumn('account_id', t.uuid, (c) => c.notNull().references('accounts.id'))
      // pending_mfa: password verified, second factor due; enrol_mfa: must enrol first; active.
      .addColumn('state', t.text, (c) => c.notNull().check(sql`state in ('pending_mfa','enrol_mfa','active')`))
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('last_seen_at', t.timestamp, (c) => c.notNull())
      .addColumn('absolute_expires_at', t.timestamp, (c) => c.notNull())
      .addColumn('mfa_at', t.timestamp)
      .addColumn('challenge', t.text)
      .addColumn('source_ip', t.text)
      .addColumn('revoked_at', t.timestamp)
      .execute();
    await db.schema.createIndex('sessions_account').on('sessions').column('account_id').execute();
    await adapter.grant(db, 'sessions', ['SELECT', 'INSERT', 'UPDATE']);

    // Brute-force counters: one row per key (account blind index, IP, MFA of an account).
    await db.schema
      .createTable('auth_throttle')
      .addColumn('key', t.text, (c) => c.primaryKey())
      .addColumn('attempts', t.int, (c) => c.notNull())
      .addColumn('window_start', t.timestamp, (c) => c.notNull())
      // Text, not a timestamp: '' means not locked, compared as ISO strings on both dialects.
      .addColumn('locked_until', t.text, (c) => c.notNull())
      .addColumn('lockouts', t.int, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'auth_throttle', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

    await db.schema
      .createTable('mfa_totp')
      .addColumn('account_id', t.uuid, (c) => c.primaryKey().references('accounts.id'))
      .addColumn('secret_sealed', t.bytes, (c) => c.notNull())
      .addColumn('confirmed_at', t.timestamp)
      // Highest time step accepted: a code at or below it never replays.
      .addColumn('last_step', t.bigint, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'mfa_totp', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

    await db.schema
      .createTable('mfa_recovery_codes')
      .addColumn('account_id', t.uuid, (c) => c.notNull().references('accounts.id'))
      .addColumn('code_hash', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('used_at', t.timestamp)
      .addPrimaryKeyConstraint('mfa_recovery_codes_pk', ['account_id', 'code_hash'])
      .execute();
    await adapter.grant(db, 'mfa_recovery_codes', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

    await db.schema
      .createTable('webauthn_credentials')
      .addColumn('id', t.text, (c) => c.primaryKey())
      .addColumn('account_id', t.uuid, (c) => c.notNull().references('accounts.id'))
      .addColumn('public_key', t.bytes, (c) => c.notNull())
      .addColumn('counter', t.bigint, (c) => c.notNull())
      .addColumn('transports', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('last_used_at', t.timestamp)
      .execute();
    await adapter.grant(db, 'webauthn_credentials', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

    await db.schema
      .createTable('api_keys')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('token_hash', t.text, (c) => c.notNull().unique())
      .addColumn('permissions', t.text, (c) => c.notNull())
      .addColumn('purposes', t.text, (c) => c.notNull())
      .addColumn('created_by', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp)
      .addColumn('last_used_at', t.timestamp)
      .addColumn('last_used_ip', t.text)
      .addColumn('revoked_at', t.timestamp)
      .addColumn('replaced_by', t.uuid)
      .addColumn('flagged_at', t.timestamp)
      .addColumn('flag_reason', t.text)
      .execute();
    await db.schema.createIndex('api_keys_tenant').on('api_keys').column('tenant_id').execute();
    await adapter.grant(db, 'api_keys', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema
      .createTable('tenant_roles')
      .addColumn('tenant_id', t.uuid, (c) => c.notNull().references('tenants.id'))
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('permissions', t.text, (c) => c.notNull())
      .addColumn('purposes', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('tenant_roles_pk', ['tenant_id', 'name'])
      .execute();
    await adapter.secureTenantTable(db, 'tenant_roles');

    // Just-in-time access (src/access/requests.ts): the request and, once
    // approved, the grant until expires_at. `role` is a built-in role or one
    // permission; tenant_id null is the platform scope. The free-text reason
    // is sealed (it may name people).
    await db.schema
      .createTable('access_requests')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('account_id', t.uuid, (c) => c.notNull().references('accounts.id'))
      .addColumn('tenant_id', t.uuid, (c) => c.references('tenants.id'))
      .addColumn('role', t.text, (c) => c.notNull())
      .addColumn('purposes', t.text, (c) => c.notNull())
      .addColumn('reason_sealed', t.bytes, (c) => c.notNull())
      .addColumn('duration_minutes', t.int, (c) => c.notNull())
      .addColumn('status', t.text, (c) => c.notNull().check(sql`status in ('pending','approved','denied','revoked','expired')`))
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('decided_by', t.uuid)
      .addColumn('decided_at', t.timestamp)
      .addColumn('expires_at', t.timestamp)
      .addColumn('ended_at', t.timestamp)
      .execute();
    await db.schema.createIndex('access_requests_account').on('access_requests').column('account_id').execute();
    await db.schema.createIndex('access_requests_status').on('access_requests').columns(['status', 'expires_at']).execute();
    await adapter.grant(db, 'access_requests', ['SELECT', 'INSERT', 'UPDATE']);
  },
};
