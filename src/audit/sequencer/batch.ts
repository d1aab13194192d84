/**
 * One sequencer batch, run inside one transaction: read outbox rows in seq
 * order, give them consecutive indexes, hash them (RFC 6962 leaf over the
 * stored RFC 8785 text), integrate them into the tree, store the new nodes,
 * maybe sign a checkpoint, delete exactly the consumed outbox rows. It
 * commits whole or not at all: a crash mid-batch loses and duplicates nothing.
 */
import type { Tx } from '../../db/index.js';
import { auditLogError } from '../errors.js';
import { canonicalJson, integrate, leafHash, loadTreeState, type TreeState } from '../log/index.js';
import { deleteOutbox, readOutbox, type OutboxRow } from '../outbox/store.js';
import { signTreeHead, type CheckpointKey } from '../signer.js';
import { MIN_STORED_LEVEL, insertCheckpoint, insertEntries, insertNodes, latestCheckpoint, nodeReader, treeSize, type NewEntry } from '../store.js';

export interface BatchInput {
  key: CheckpointKey;
  origin: string;
  /** The tree as this process last committed it (reloaded when another process moved it). */
  state: TreeState | undefined;
  limit: number;
  now: Date;
  /** Sign a checkpoint if the tree grew beyond the newest one (the caller decides the cadence). */
  checkpointDue: boolean;
  tryLock(tx: Tx): Promise<boolean>;
}

export interface BatchResult {
  locked: boolean;
  integrated: number;
  state: TreeState | undefined;
  /** Size of the checkpoint signed in this batch. */
  checkpointSize: number | undefined;
  /** Size of the newest checkpoint after the batch. */
  attested: number;
  /** True when the batch took fewer rows than the limit (the outbox is drained). */
  drained: boolean;
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

/** Runs one batch in `tx` (see the module comment). Adopt `state` only after the transaction committed. */
export async function runBatch(tx: Tx, input: BatchInput): Promise<BatchResult> {
  if (!(await input.tryLock(tx))) return { locked: false, integrated: 0, state: input.state, checkpointSize: undefined, attested: -1, drained: true };
  const size = await treeSize(tx);
  const latest = await latestCheckpoint(tx);
  const latestSize = latest ? Number(latest.size) : 0;
  if (latestSize > size) {
    throw auditLogError('LOG_INCONSISTENT', `a checkpoint attests ${latestSize} entries but the log holds ${size}: refusing to extend it (run custos audit verify)`);
  }
  const state = input.state?.size === size ? input.state : await loadTreeState(nodeReader(tx), size);
  // Every remaining row (seq > 0), not "after the last seq": on PostgreSQL a lower seq may commit after a higher one was sequenced.
  const rows = await readOutbox(tx, 0, input.limit);
  const { entries, leaves } = toEntries(rows, size);
  const result = integrate(leaves, state);
  if (rows.length > 0) {
    await insertEntries(tx, entries);
    // Level 0 is the entries' leaf_hash column; interior nodes are stored from MIN_STORED_LEVEL up.
    await insertNodes(tx, result.newNodes.filter((n) => n.level >= MIN_STORED_LEVEL));
    await deleteOutbox(tx, rows.map((r) => Number(r.seq)));
  }
  let checkpointSize: number | undefined;
  if (result.size > latestSize && input.checkpointDue) {
    const note = signTreeHead(input.key, input.origin, result.size, result.root);
    await insertCheckpoint(tx, { size: result.size, root: result.root, note, created_at: input.now.toISOString() });
    checkpointSize = result.size;
  }
  return { locked: true, integrated: rows.length, state: result.state, checkpointSize, attested: checkpointSize ?? latestSize, drained: rows.length < input.limit };
}
