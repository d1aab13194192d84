/**
 * SQL pieces and packing shared by both dialects' sequencer statements
 * (sqlite-audit.ts, postgres-audit.ts): how the oldest outbox rows are read
 * and how a run of them is moved into audit_entries.
 */
import type { OutboxEvents } from './audit.js';

/** The columns an outbox row and its entry share, copied as stored when the sequencer moves a run. */
export const MOVED_COLUMNS =
  'event_id, recorded_at, tenant_id, class_uid, activity_id, action, actor_type, actor_id, target_type, target_id, outcome, event';

/** True in SQL when an outbox row carries every NOT NULL filter column of audit_entries. */
export const OUTBOX_FILTERED = '(action IS NOT NULL AND actor_type IS NOT NULL AND actor_id IS NOT NULL AND outcome IS NOT NULL)';

/** The aggregate row of the oldest outbox rows: comma-separated seqs and event byte lengths, the events' bytes each after one spare byte. */
export interface OutboxAggregate {
  n: number;
  filtered: number | boolean | null;
  seqs: string | null;
  lens: string | null;
  data: Buffer | null;
}

/** Unpacks `row`; throws unless its columns agree with each other (counts, and the bytes the lengths add up to). */
export function unpackOutboxEvents(row: OutboxAggregate): OutboxEvents {
  const n = Number(row.n);
  if (n === 0) return { seqs: [], data: Buffer.alloc(0), ends: [], filtered: true };
  const seqs = (row.seqs ?? '').split(',').map(Number);
  const lens = (row.lens ?? '').split(',').map(Number);
  const data = row.data ?? Buffer.alloc(0);
  const ends: number[] = [];
  let at = 0;
  for (const len of lens) ends.push((at += 1 + len));
  if (seqs.length !== n || lens.length !== n || at !== data.length || !seqs.every(Number.isSafeInteger)) {
    throw new Error(`outbox aggregate is inconsistent: ${n} rows, ${seqs.length} seqs, ${lens.length} lengths, ${data.length} bytes for ${at}`);
  }
  return { seqs, data, ends, filtered: row.filtered === true || row.filtered === 1 };
}

/** Packs rows read one by one (the same shape as the aggregate). */
export function packOutboxEvents(rows: ReadonlyArray<{ seq: number; event: string; filtered: boolean }>): OutboxEvents {
  const ends: number[] = [];
  let at = 0;
  for (const r of rows) ends.push((at += 1 + Buffer.byteLength(r.event, 'utf8')));
  const data = Buffer.allocUnsafe(at);
  rows.forEach((r, k) => {
    const start = k === 0 ? 0 : (ends[k - 1] as number);
    data[start] = 0x20;
    data.write(r.event, start + 1, 'utf8');
  });
  return { seqs: rows.map((r) => r.seq), data, ends, filtered: rows.every((r) => r.filtered) };
}
