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
 * The entries with index in [from, to) as one aggregate row, in index order:
 * what `custos audit verify` reads instead of a row object per entry (at
 * ~700 bytes an entry, building those costs more than hashing them).
 */
export interface EntryRunRow {
  /** Rows in the range. */
  readonly n: number;
  /** Rows whose event is present and whose leaf hash is a 32-byte blob: n when the aggregate is faithful. */
  readonly complete: number;
  /** The rows' indexes, comma-separated, in the order of the columns below. */
  readonly idxs: string | null;
  /** The byte length of each event, comma-separated. */
  readonly lens: string | null;
  /** One spare byte, then the events' bytes as stored, each followed by one separator byte but the last. */
  readonly data: Buffer | null;
  /** The stored leaf hashes, concatenated. */
  readonly leaves: Buffer | null;
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
  /** Entries [from, to) aggregated into one row (see EntryRunRow). */
  readEntryRun(tx: Tx, from: number, to: number): Promise<EntryRunRow>;
}
