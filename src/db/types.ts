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
  /** Envelope of an OAuth refresh token, if any. */
  refresh_secret: Uint8Array | null;
  fingerprint: string;
  scopes: string;
  expires_at: string | null;
  /** Data subject the secret belongs to: sealed under that subject's DEK (crypto-shredded with it). */
  subject_id: string | null;
  /** The subject DEK version the secret is sealed under. */
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

/**
 * The key store (src/keys): its own SQLite file attached as schema `keys`, or
 * the `custos_keys` schema on PostgreSQL (`adapter.keyStoreSchema`). Reached
 * only by src/keys/store.ts through `tx.withSchema(adapter.keyStoreSchema)`;
 * never part of a data backup. Wrapped keys only: nothing here is plaintext.
 */
export interface KeySeriesTable {
  /** Tenant id, `_platform` or `_root`. */
  owner: string;
  purpose: string;
  /** Subject id for subject DEKs, '' otherwise. */
  ref: string;
  current_version: number;
  /** Versions below this are retired: they decrypt nothing. */
  min_version: number;
  created_at: string;
  updated_at: string;
  destroyed_at: string | null;
}

export interface KeyVersionsTable {
  /** The key id written in every envelope sealed under this version. */
  id: string;
  owner: string;
  purpose: string;
  ref: string;
  version: number;
  /** The key version that wraps this one; null when the root key wraps it. */
  parent_id: string | null;
  /** Root key version of a root-wrapped key. */
  root_version: number | null;
  /** Wrapped key; null once retired or destroyed. */
  wrapped: Uint8Array | null;
  /** Encryptions reserved so far (a high-water mark persisted ahead of use). */
  usage_reserved: number;
  created_at: string;
  superseded_at: string | null;
  retired_at: string | null;
  destroyed_at: string | null;
}

export interface ErasureLedgerTable {
  id: string;
  erased_at: string;
  scope: 'subject' | 'tenant';
  tenant_id: string;
  subject_id: string | null;
  /** JSON array of the destroyed key version ids. */
  key_ids: string;
  reason: string;
  actor: string;
  request_id: string;
}

export interface RewrapJobsTable {
  id: string;
  scope: 'root' | 'tenant';
  /** `_root` or the tenant id. */
  owner: string;
  /** What keys move to: the root version, or the tenant KEK version id. */
  target: string;
  state: 'running' | 'done';
  total: number;
  done: number;
  /** Last key version id re-wrapped (ids ascend). */
  cursor: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface KeyStoreMetaTable {
  name: string;
  value: number;
}

export interface KeyStoreDatabase {
  key_series: KeySeriesTable;
  key_versions: KeyVersionsTable;
  erasure_ledger: ErasureLedgerTable;
  rewrap_jobs: RewrapJobsTable;
  key_store_meta: KeyStoreMetaTable;
}
