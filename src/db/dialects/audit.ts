import type { Kysely } from 'kysely';
import type { Tx } from '../types.js';

/** What a prune records: the new floor and why it is allowed (audit/README.md, "Retention"). */
export interface PruneRequest {
  /** Entries with index < floor leave the database; the floor only rises. */
  floor: number;
  /** The archive's cut-off time: every pruned entry was recorded before it. */
  before: string;
  /** Retention in force (>= 365): every pruned entry is at least this many days old. */
  retentionDays: number;
  /** SHA-256 (hex) of the archive bundle written before the prune. */
  archiveSha256: string;
  createdAt: string;
}

/**
 * The audit log's storage pieces that differ between SQLite and PostgreSQL
 * (CONVENTIONS: dialect differences live in db/dialects/ only).
 */
export interface AuditDialect {
  /**
   * Inside the sequencer's batch transaction: true when this transaction may
   * sequence. PostgreSQL takes a transaction-scoped advisory lock (several
   * processes never sequence at once; the lock ends with the transaction);
   * SQLite's single writer already serialises every write transaction.
   */
  tryLockSequencer(tx: Tx): Promise<boolean>;
  /**
   * Migration step, after makeAppendOnly on audit_entries: replaces its DELETE
   * refusal by one that lets rows below the recorded prune floor go, and
   * guards audit_prune_floors (a floor only rises, stays within the signed
   * tree, covers only entries past retention whose leaf hashes are kept).
   */
  installPruneGuard(db: Kysely<unknown>): Promise<void>;
  /**
   * Copies the leaf hashes of [current floor, floor) into audit_nodes (level
   * 0), records the floor and deletes the entries below it, in `tx`. Returns
   * the number of entries deleted. The database refuses it unless the floor's
   * conditions hold.
   */
  prune(tx: Tx, request: PruneRequest): Promise<number>;
}
