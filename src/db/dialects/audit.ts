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
 * The oldest outbox rows as the sequencer reads them first, packed: enough to
 * hash them in place and to choose their path.
 */
export interface OutboxEvents {
  /** The rows' seqs, in the order of `data` (ascending unless the aggregate misbehaved: the caller checks). */
  readonly seqs: readonly number[];
  /** One spare byte before each event's bytes as stored: event k is data[start + 1, ends[k]), start = ends[k - 1] or 0. */
  readonly data: Buffer;
  readonly ends: readonly number[];
  /** Every row carries its filter columns (rows written before migration 0004 do not, and take the row-by-row path). */
  readonly filtered: boolean;
}

/** Consecutive outbox seqs [first, last], every one of them read by the caller, and the log indexes they take. */
export interface OutboxRun {
  readonly first: number;
  readonly last: number;
  /** Log index of `first`: seq s becomes entry start + (s - first). */
  readonly start: number;
  /** The leaf hashes, 32 bytes per seq, in seq order. */
  readonly leaves: Buffer;
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
  /** Sequencer: the oldest outbox rows, at most `limit`, in seq order, as one aggregate row (see OutboxEvents). */
  readOutboxEvents(tx: Tx, limit: number): Promise<OutboxEvents>;
  /**
   * Sequencer, in its locked batch transaction: copies the outbox rows of
   * `run` into audit_entries inside the database (filter columns and event
   * text as stored, leaf_hash from run.leaves) and deletes them from the
   * outbox. The range is safe because the caller read every seq in it: no
   * other row can hold one, and only the lock holder deletes outbox rows.
   * Returns the rows inserted and deleted; the caller checks both.
   */
  moveOutboxRun(tx: Tx, run: OutboxRun): Promise<{ inserted: number; deleted: number }>;
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
