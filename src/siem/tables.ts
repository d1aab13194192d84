/**
 * Row types of the SIEM tables (migration 0010-siem), merged into the one
 * `Database` interface (as identity/tables.ts does), so db/types.ts carries
 * none of this module's columns.
 */
import type { Severity } from '../audit/index.js';

export type AlertState = 'open' | 'acknowledged' | 'resolved' | 'false_positive';
export type ResponseAction = 'lock_account' | 'revoke_sessions' | 'suspend_api_key';

export interface SiemStateTable {
  name: string;
  next_index: number;
  snapshot: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  updated_at: string;
}

export interface SiemAlertsTable {
  id: string;
  rule_id: string;
  title: string;
  severity: Severity;
  group_key: string;
  tenant_id: string | null;
  state: AlertState;
  assignee: string | null;
  count: number;
  indexes: string;
  first_index: number;
  last_index: number;
  first_seen_at: string;
  last_seen_at: string;
  tags: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface SiemAlertNotesTable {
  id: string;
  alert_id: string;
  author_type: string;
  author_id: string;
  body_sealed: Uint8Array;
  created_at: string;
}

export interface SiemRuleSettingsTable {
  rule_id: string;
  enabled: number;
  level: Severity | null;
  suppression_seconds: number | null;
  responses: string;
  updated_by: string;
  updated_at: string;
}

export interface SiemNotificationsTable {
  id: string;
  alert_id: string;
  channel: string;
  payload: string;
  state: 'pending' | 'sent' | 'dead';
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

export interface SiemResponsesTable {
  id: string;
  alert_id: string;
  action: ResponseAction;
  target_type: string;
  target_id: string;
  state: 'applied' | 'skipped' | 'reverted';
  details: string;
  applied_at: string;
  reverted_at: string | null;
  reverted_by: string | null;
}

declare module '../db/types.js' {
  interface Database {
    siem_state: SiemStateTable;
    siem_alerts: SiemAlertsTable;
    siem_alert_notes: SiemAlertNotesTable;
    siem_rule_settings: SiemRuleSettingsTable;
    siem_notifications: SiemNotificationsTable;
    siem_responses: SiemResponsesTable;
  }
}
