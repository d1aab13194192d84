/**
 * The row-by-row sequencer path, for outbox rows written before migration
 * 0004: they carry only the event text, so the filter columns are derived
 * from the event (and the text re-canonicalised) in JavaScript, and each
 * entry is inserted with its values. Rows written since then take the
 * in-database path (batch.ts); a batch holding any older row takes this one.
 */
import type { Tx } from '../../db/index.js';
import { canonicalJson, integrate, leafHash, type TreeState } from '../log/index.js';
import { deleteOutbox, readOutbox, type OutboxRow } from '../outbox/store.js';
import { MIN_STORED_LEVEL, insertEntries, insertNodes, type NewEntry } from '../store.js';

/** What a batch appended: how many entries, and the tree after them. */
export interface Appended {
  count: number;
  state: TreeState;
  root: Buffer;
}

/** The filter columns of an outbox row; rows written before migration 0004 carry only the event text. */
function filterColumns(row: OutboxRow): { text: string; cols: Pick<NewEntry, 'action' | 'actor_type' | 'actor_id' | 'target_type' | 'target_id' | 'outcome'> } {
  if (row.action !== null && row.actor_type !== null && row.actor_id !== null && row.outcome !== null) {
    return { text: row.event, cols: { action: row.action, actor_type: row.actor_type, actor_id: row.actor_id, target_type: row.target_type, target_id: row.target_id, outcome: row.outcome } };
  }
  const event = JSON.parse(row.event) as {
    custos?: { action?: string };
    actor?: { user?: { type?: string; uid?: string } };
    resources?: Array<{ type?: string; uid?: string }>;
    status?: string;
  };
  const target = event.resources?.[0];
  return {
    text: canonicalJson(event),
    cols: {
      action: String(event.custos?.action ?? 'unknown'),
      actor_type: String(event.actor?.user?.type ?? 'unknown'),
      actor_id: String(event.actor?.user?.uid ?? 'unknown'),
      target_type: target?.type ?? null,
      target_id: target?.uid ?? null,
      outcome: event.status === 'Success' ? 'success' : 'failure',
    },
  };
}

/** Entries and leaf hashes for `rows`, indexed from `size`. */
function toEntries(rows: readonly OutboxRow[], size: number): { entries: NewEntry[]; leaves: Buffer[] } {
  const entries: NewEntry[] = [];
  const leaves: Buffer[] = [];
  rows.forEach((row, i) => {
    const { text, cols } = filterColumns(row);
    const leaf = leafHash(Buffer.from(text, 'utf8'));
    leaves.push(leaf);
    entries.push({
      idx: size + i,
      event_id: row.event_id,
      recorded_at: row.recorded_at,
      tenant_id: row.tenant_id,
      class_uid: row.class_uid,
      activity_id: row.activity_id,
      ...cols,
      event: text,
      leaf_hash: leaf,
    });
  });
  return { entries, leaves };
}

/** Appends the oldest `limit` outbox rows to the tree `state`, row by row, and deletes exactly those rows by seq. */
export async function appendRowByRow(tx: Tx, limit: number, state: TreeState): Promise<Appended> {
  const rows = await readOutbox(tx, 0, limit);
  const { entries, leaves } = toEntries(rows, state.size);
  const result = integrate(leaves, state);
  if (rows.length > 0) {
    await insertEntries(tx, entries);
    // Level 0 is the entries' leaf_hash column; interior nodes are stored from MIN_STORED_LEVEL up.
    await insertNodes(tx, result.newNodes.filter((n) => n.level >= MIN_STORED_LEVEL));
    await deleteOutbox(tx, rows.map((r) => Number(r.seq)));
  }
  return { count: rows.length, state: result.state, root: result.root };
}
