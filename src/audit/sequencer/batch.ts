/**
 * One sequencer batch, run inside one transaction: read outbox rows in seq
 * order, give them consecutive indexes, hash them (RFC 6962 leaf over the
 * stored RFC 8785 text), integrate them into the tree, store the new nodes,
 * maybe sign a checkpoint, delete exactly the consumed outbox rows. It
 * commits whole or not at all: a crash mid-batch loses and duplicates nothing.
 *
 * The rows are moved run by run inside the database (moveRuns): only the
 * events' bytes come out, to be hashed here, and only their leaf hashes go
 * back. Rows written before migration 0004 lack the filter columns and take
 * the row-by-row path (legacy.ts), which derives them from the event.
 */
import type { Tx } from '../../db/index.js';
import type { AuditDialect, OutboxEvents } from '../../db/dialects/audit.js';
import { auditLogError } from '../errors.js';
import { loadTreeState, type TreeNode, type TreeState } from '../log/index.js';
import { fromBinary, HASH_SIZE, leafHashInPlace, toBinary } from '../log/hash.js';
import { Frontier } from '../log/merkle.js';
import { signTreeHead, type CheckpointKey } from '../signer.js';
import { MIN_STORED_LEVEL, insertCheckpoint, insertNodes, latestCheckpoint, nodeReader, treeSize } from '../store.js';
import { appendRowByRow, type Appended } from './legacy.js';

export interface BatchInput {
  key: CheckpointKey;
  origin: string;
  /** The tree as this process last committed it (reloaded when another process moved it). */
  state: TreeState | undefined;
  limit: number;
  now: Date;
  /** Sign a checkpoint if the tree grew beyond the newest one (the caller decides the cadence). */
  checkpointDue: boolean;
  /** The dialect's sequencer statements: the lock, the outbox read and the run move. */
  dialect: Pick<AuditDialect, 'tryLockSequencer' | 'readOutboxEvents' | 'moveOutboxRun'>;
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

/** Maximal runs of consecutive seqs, as [first, end) positions in `seqs`; throws unless the seqs ascend. */
export function seqRuns(seqs: readonly number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let from = 0;
  for (let i = 1; i <= seqs.length; i++) {
    const prev = seqs[i - 1] as number;
    const next = seqs[i];
    if (next !== undefined && !(next > prev)) throw auditLogError('LOG_INCONSISTENT', `outbox rows out of order (seq ${next} after ${prev})`);
    if (next !== prev + 1) {
      runs.push([from, i]);
      from = i;
    }
  }
  return runs;
}

/**
 * Hashes the events in place, integrates the leaves into `state` and moves
 * each run of consecutive seqs into the log inside the database; stores the
 * interior nodes from MIN_STORED_LEVEL up (level 0 is the entries' leaf_hash).
 */
async function moveRuns(tx: Tx, dialect: BatchInput['dialect'], events: OutboxEvents, state: TreeState): Promise<Appended> {
  const { seqs, data, ends } = events;
  const runs = seqRuns(seqs);
  const frontier = new Frontier(state.size, state.frontier.map(toBinary));
  const leaves = Buffer.allocUnsafe(seqs.length * HASH_SIZE);
  const nodes: TreeNode[] = [];
  const keep = (level: number, index: number, hash: string): void => {
    if (level >= MIN_STORED_LEVEL) nodes.push({ level, index, hash: fromBinary(hash) });
  };
  for (let k = 0, start = 0; k < seqs.length; k++) {
    const end = ends[k] as number;
    // data[start] is the spare byte before event k: it becomes the leaf prefix 0x00.
    const leaf = leafHashInPlace(data, start, end);
    leaves.write(leaf, k * HASH_SIZE, HASH_SIZE, 'latin1');
    frontier.append(leaf, keep);
    start = end;
  }
  for (const [from, end] of runs) {
    const first = seqs[from] as number;
    const last = seqs[end - 1] as number;
    const moved = await dialect.moveOutboxRun(tx, { first, last, start: state.size + from, leaves: leaves.subarray(from * HASH_SIZE, end * HASH_SIZE) });
    if (moved.inserted !== end - from || moved.deleted !== end - from) {
      // Rolls the whole batch back: a run moves exactly the rows read, or nothing.
      throw auditLogError('LOG_INCONSISTENT', `outbox seqs ${first}..${last}: ${end - from} rows read, ${moved.inserted} copied, ${moved.deleted} deleted`);
    }
  }
  await insertNodes(tx, nodes);
  return { count: seqs.length, state: { size: frontier.size, frontier: frontier.frontier() }, root: fromBinary(frontier.root()) };
}

/** Runs one batch in `tx` (see the module comment). Adopt `state` only after the transaction committed. */
export async function runBatch(tx: Tx, input: BatchInput): Promise<BatchResult> {
  if (!(await input.dialect.tryLockSequencer(tx))) return { locked: false, integrated: 0, state: input.state, checkpointSize: undefined, attested: -1, drained: true };
  const size = await treeSize(tx);
  const latest = await latestCheckpoint(tx);
  const latestSize = latest ? Number(latest.size) : 0;
  if (latestSize > size) {
    throw auditLogError('LOG_INCONSISTENT', `a checkpoint attests ${latestSize} entries but the log holds ${size}: refusing to extend it (run custos audit verify)`);
  }
  const state = input.state?.size === size ? input.state : await loadTreeState(nodeReader(tx), size);
  // Every remaining row (seq > 0), not "after the last seq": on PostgreSQL a lower seq may commit after a higher one was sequenced.
  const events = await input.dialect.readOutboxEvents(tx, input.limit);
  const appended = events.filtered ? await moveRuns(tx, input.dialect, events, state) : await appendRowByRow(tx, input.limit, state);
  let checkpointSize: number | undefined;
  if (appended.state.size > latestSize && input.checkpointDue) {
    const note = signTreeHead(input.key, input.origin, appended.state.size, appended.root);
    await insertCheckpoint(tx, { size: appended.state.size, root: appended.root, note, created_at: input.now.toISOString() });
    checkpointSize = appended.state.size;
  }
  return { locked: true, integrated: appended.count, state: appended.state, checkpointSize, attested: checkpointSize ?? latestSize, drained: events.seqs.length < input.limit };
}
