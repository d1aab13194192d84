/**
 * Packed entry runs: many log entries in a few buffers, the form in which
 * the stored log is read for verification (one aggregate query per page
 * instead of one row object per entry). The checks themselves are in verify.ts.
 */
import { auditError } from './errors.js';
import { HASH_SIZE, toBinary } from './hash.js';

/**
 * A page of entries packed into a few buffers, as a store reads it with one
 * aggregate query instead of one row object per entry (building those costs
 * more than hashing them). Entry i has index indexes[i], stored leaf hash
 * leafHashes[32i, 32i + 32) and event bytes data[s + 1, ends[i]) where
 * s = (i === 0 ? 0 : ends[i - 1]): every event is preceded by one spare byte,
 * which the verifier overwrites with the leaf prefix to hash in place.
 */
export interface LogEntryRun {
  readonly indexes: ArrayLike<number>;
  readonly data: Buffer;
  readonly ends: ArrayLike<number>;
  readonly leafHashes: Uint8Array;
}

/** A run whose shape was checked, with its stored leaf hashes as one latin1 string. */
export interface CheckedRun {
  readonly run: LogEntryRun;
  readonly storedLeaves: string;
}

/** Checks that the parts of `run` agree (else AUDIT_VERIFY_INPUT_INVALID: the source is broken, not the log). */
export function checkedRun(run: LogEntryRun): CheckedRun {
  const { indexes, data, ends, leafHashes } = run;
  const n = indexes.length;
  let ok = ends.length === n && leafHashes.length === n * HASH_SIZE;
  for (let i = 0, s = 0; ok && i < n; s = ends[i++] as number) ok = Number.isSafeInteger(ends[i]) && (ends[i] as number) > s && (ends[i] as number) <= data.length;
  if (!ok) throw auditError('VERIFY_INPUT_INVALID', 'entry run: lengths of indexes, events and leaf hashes disagree');
  return { run, storedLeaves: toBinary(leafHashes) };
}

export const isRun = (item: object): item is LogEntryRun => (item as Partial<LogEntryRun>).ends !== undefined;
