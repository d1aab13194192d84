import { sql } from 'kysely';
import type { CustosMigration } from './index.js';

/**
 * The SIEM runtime (src/siem): the engine's durable cursor and window state,
 * alerts with notes, per-deployment rule settings, the notification queue and
 * the responses taken. All platform tables: alerts span tenants and are read
 * by platform staff. Also the two reversible response states on identity
 * tables: `accounts.locked_at` (login refused with AUTH_ACCOUNT_LOCKED) and
 * `api_keys.suspended_at` (the key authenticates nothing until resumed).
 */
export const m0010Siem: CustosMigration = {
  name: '0010-siem',
  async up(db, { adapter }) {
    const t = adapter.types;
    await db.schema
      .createTable('siem_state')
      .addColumn('name', t.text, (c) => c.primaryKey())
      // First log index not yet evaluated; advanced in the same transaction as the alerts it produced.
      .addColumn('next_index', t.bigint, (c) => c.notNull())
      // The rule set's window state (RuleSet.snapshot()) as JSON, as of next_index.
      .addColumn('snapshot', t.text)
      .addColumn('lease_owner', t.text)
      .addColumn('lease_until', t.timestamp)
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'siem_state', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema
      .createTable('siem_alerts')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('rule_id', t.text, (c) => c.notNull())
      .addColumn('title', t.text, (c) => c.notNull())
      .addColumn('severity', t.text, (c) => c.notNull().check(sql`severity in ('informational','low','medium','high','critical')`))
      .addColumn('group_key', t.text, (c) => c.notNull())
      .addColumn('tenant_id', t.uuid)
      .addColumn('state', t.text, (c) => c.notNull().check(sql`state in ('open','acknowledged','resolved','false_positive')`))
      .addColumn('assignee', t.uuid)
      .addColumn('count', t.int, (c) => c.notNull())
      // JSON array of the log indexes that triggered it (the first ones, capped).
      .addColumn('indexes', t.text, (c) => c.notNull())
      .addColumn('first_index', t.bigint, (c) => c.notNull())
      .addColumn('last_index', t.bigint, (c) => c.notNull())
      .addColumn('first_seen_at', t.timestamp, (c) => c.notNull())
      .addColumn('last_seen_at', t.timestamp, (c) => c.notNull())
      .addColumn('tags', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('closed_at', t.timestamp)
      .execute();
    await adapter.createIndex(db, 'siem_alerts_dedup', 'siem_alerts', ['rule_id', 'group_key', 'state']);
    await adapter.grant(db, 'siem_alerts', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema
      .createTable('siem_alert_notes')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('alert_id', t.uuid, (c) => c.notNull().references('siem_alerts.id'))
      .addColumn('author_type', t.text, (c) => c.notNull())
      .addColumn('author_id', t.text, (c) => c.notNull())
      // Sealed under the platform DEK: an analyst's note may name a person.
      .addColumn('body_sealed', t.bytes, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .execute();
    await adapter.createIndex(db, 'siem_alert_notes_alert', 'siem_alert_notes', ['alert_id']);
    await adapter.grant(db, 'siem_alert_notes', ['SELECT', 'INSERT']);

    await db.schema
      .createTable('siem_rule_settings')
      .addColumn('rule_id', t.text, (c) => c.primaryKey())
      .addColumn('enabled', t.int, (c) => c.notNull())
      .addColumn('level', t.text)
      .addColumn('suppression_seconds', t.int)
      // JSON array of response actions taken when the rule raises a new alert (opt-in; empty: none).
      .addColumn('responses', t.text, (c) => c.notNull())
      .addColumn('updated_by', t.text, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    await adapter.grant(db, 'siem_rule_settings', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema
      .createTable('siem_notifications')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('alert_id', t.uuid, (c) => c.notNull().references('siem_alerts.id'))
      .addColumn('channel', t.text, (c) => c.notNull())
      // The alert as it was when queued (references only), JSON.
      .addColumn('payload', t.text, (c) => c.notNull())
      .addColumn('state', t.text, (c) => c.notNull().check(sql`state in ('pending','sent','dead')`))
      .addColumn('attempts', t.int, (c) => c.notNull())
      .addColumn('next_attempt_at', t.timestamp, (c) => c.notNull())
      .addColumn('last_error', t.text)
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('sent_at', t.timestamp)
      .execute();
    await adapter.createIndex(db, 'siem_notifications_due', 'siem_notifications', ['state', 'next_attempt_at']);
    await adapter.grant(db, 'siem_notifications', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema
      .createTable('siem_responses')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('alert_id', t.uuid, (c) => c.notNull().references('siem_alerts.id'))
      .addColumn('action', t.text, (c) => c.notNull().check(sql`action in ('lock_account','revoke_sessions','suspend_api_key')`))
      .addColumn('target_type', t.text, (c) => c.notNull())
      .addColumn('target_id', t.text, (c) => c.notNull())
      .addColumn('state', t.text, (c) => c.notNull().check(sql`state in ('applied','skipped','reverted')`))
      // JSON: what was changed (e.g. the revoked session ids), so a revert undoes exactly that.
      .addColumn('details', t.text, (c) => c.notNull())
      .addColumn('applied_at', t.timestamp, (c) => c.notNull())
      .addColumn('reverted_at', t.timestamp)
      .addColumn('reverted_by', t.text)
      .execute();
    await adapter.createIndex(db, 'siem_responses_alert', 'siem_responses', ['alert_id']);
    await adapter.grant(db, 'siem_responses', ['SELECT', 'INSERT', 'UPDATE']);

    await db.schema.alterTable('accounts').addColumn('locked_at', t.timestamp).execute();
    await db.schema.alterTable('api_keys').addColumn('suspended_at', t.timestamp).execute();
  },
};
