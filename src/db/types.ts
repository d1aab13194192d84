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
  /** The OCSF-shaped event as RFC 8785 canonical JSON text (JSON.stringify text in rows written before 0004). */
  event: string;
  /** Filter columns the sequencer copies into audit_entries (null in rows written before 0004). */
  action: string | null;
  actor_type: string | null;
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  outcome: 'success' | 'failure' | null;
}

/** A sequenced audit log entry (audit/README.md); append-only, pruned only below the prune floor. */
export interface AuditEntriesTable {
  /** Position in the log, consecutive from 0: the Merkle leaf index. */
  idx: number;
  event_id: string;
  recorded_at: string;
  tenant_id: string | null;
  class_uid: number;
  activity_id: number;
  action: string;
  actor_type: string;
  actor_id: string;
  target_type: string | null;
  target_id: string | null;
  outcome: 'success' | 'failure';
  /** RFC 8785 canonical JSON of the event: the leaf data. */
  event: string;
  /** RFC 6962 leaf hash of `event` (32 bytes). */
  leaf_hash: Uint8Array;
}

/** Perfect-subtree Merkle nodes (level >= 1; level 0 only for pruned entries). Append-only. */
export interface AuditNodesTable {
  level: number;
  idx: number;
  hash: Uint8Array;
}

/** Signed C2SP checkpoints, one per tree size. Append-only. */
export interface AuditCheckpointsTable {
  size: number;
  root: Uint8Array;
  note: string;
  created_at: string;
}

/** Every prune: entries below `floor_index` left the database after an archive. Append-only; the floor only rises. */
export interface AuditPruneFloorsTable {
  floor_index: number;
  /** The archive's cut-off time: every pruned entry was recorded before it. */
  cutoff: string;
  retention_days: number;
  archive_sha256: string;
  created_at: string;
}

/** Small named values of the audit log (retention high-water mark, last scheduled verification). */
export interface AuditStateTable {
  name: string;
  value: string;
  updated_at: string;
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
  audit_entries: AuditEntriesTable;
  audit_nodes: AuditNodesTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_prune_floors: AuditPruneFloorsTable;
  audit_state: AuditStateTable;
  idempotency_keys: IdempotencyKeysTable;
  bootstrap_tokens: BootstrapTokensTable;
  integrations: IntegrationsTable;
  audit_forwarder_cursors: AuditForwarderCursorsTable;
}

/** The handle a unit of work receives: a transaction on either dialect. */
export type Tx = Kysely<Database>;
