import type { Generated, Kysely } from 'kysely';

/**
 * Row types of every table, as Kysely sees them. Times are ISO-8601 UTC
 * strings on both dialects (PostgreSQL timestamptz is parsed to ISO by the
 * postgres dialect); ids are UUIDv7 strings; JSON is stored as text.
 */
export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  state: 'active' | 'suspended' | 'closed' | 'purged';
  created_at: string;
  updated_at: string;
  state_changed_at: string;
}

export interface AuditOutboxTable {
  /** Assigned by the database; the order the sequencer integrates in. */
  seq: Generated<number>;
  event_id: string;
  recorded_at: string;
  tenant_id: string | null;
  class_uid: number;
  activity_id: number;
  /** The OCSF-shaped event as JSON text. */
  event: string;
}

export interface IdempotencyKeysTable {
  principal: string;
  idem_key: string;
  method: string;
  route: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: string;
  expires_at: string;
}

export interface BootstrapTokensTable {
  id: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface IntegrationsTable {
  tenant_id: string;
  id: string;
  kind: 'oauth' | 'webhook';
  name: string;
  provider: string;
  /** Envelope (bytes) holding the secret material; never returned by the API. */
  secret: Uint8Array;
  fingerprint: string;
  scopes: string;
  expires_at: string | null;
  subject_key_id: string | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
}

/** A forwarder's durable cursor (audit/forward); advanced only after the destination acknowledged. */
export interface AuditForwarderCursorsTable {
  name: string;
  next_index: number;
  checkpoint_size: number;
  updated_at: string;
}

export interface Database {
  tenants: TenantsTable;
  audit_outbox: AuditOutboxTable;
  idempotency_keys: IdempotencyKeysTable;
  bootstrap_tokens: BootstrapTokensTable;
  integrations: IntegrationsTable;
  audit_forwarder_cursors: AuditForwarderCursorsTable;
}

/** The handle a unit of work receives: a transaction on either dialect. */
export type Tx = Kysely<Database>;
