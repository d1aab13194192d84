/**
 * Turns a dialect's aggregate row of entries (db/dialects EntryRunRow) into
 * the core verifier's packed LogEntryRun, or refuses it when the aggregate is
 * not a faithful picture of the rows: a NULL event or an odd leaf hash would
 * be skipped by the aggregate and shift every later entry, so then the caller
 * reads that range row by row and the core verifier judges each row itself.
 */
import type { DialectAdapter } from '../../db/index.js';
import type { LogEntryRun } from '../log/index.js';

type EntryRunRow = Awaited<ReturnType<DialectAdapter['audit']['readEntryRun']>>;

const COMMA = 44;
const ZERO = 48;

/** Comma-separated non-negative integers, exactly `n` of them, else undefined. */
function parseList(text: string | null, n: number): number[] | undefined {
  if (n === 0) return text === null || text === '' ? [] : undefined;
  if (text === null) return undefined;
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : COMMA;
    if (c === COMMA) {
      if (digits === 0 || digits > 15) return undefined;
      out.push(value);
      value = 0;
      digits = 0;
    } else {
      const d = c - ZERO;
      if (d < 0 || d > 9) return undefined;
      value = value * 10 + d;
      digits++;
    }
  }
  return out.length === n ? out : undefined;
}

/** The run the row describes, or undefined when the range must be read row by row. */
export function toEntryRun(row: EntryRunRow): LogEntryRun | undefined {
  const n = row.n;
  if (n === 0) return { indexes: [], data: Buffer.alloc(0), ends: [], leafHashes: Buffer.alloc(0) };
  if (row.complete !== n || row.data === null || row.leaves === null) return undefined;
  const indexes = parseList(row.idxs, n);
  const lengths = parseList(row.lens, n);
  if (indexes === undefined || lengths === undefined) return undefined;
  // A typed array: n end offsets in one allocation.
  const ends = new Float64Array(n);
  let end = 0;
  for (let i = 0; i < n; i++) {
    end += 1 + (lengths[i] as number);
    ends[i] = end;
  }
  if (end !== row.data.length || row.leaves.length !== 32 * n) return undefined;
  return { indexes, data: row.data, ends, leafHashes: row.leaves };
}
