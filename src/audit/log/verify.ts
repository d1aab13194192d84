/**
 * Streaming verifier of a stored audit log, independent of storage: it reads
 * entries (index, canonical event bytes, stored leaf hash) in index order and
 * the stored checkpoints (signed notes) in size order, recomputes every leaf
 * hash and the tree, checks each checkpoint's signature and its root at its
 * size, and optionally that the tree extends earlier external checkpoints
 * (witness copies). It stops at the first fault.
 *
 * firstBadIndex is the lowest index the verifier cannot vouch for:
 *  - entry faults (changed-entry, missing-entry, unexpected-entry) are exact;
 *  - checkpoint faults (root-mismatch, bad-signature, malformed-checkpoint)
 *    localise to badRange = [size of the last checkpoint that verified,
 *    size of the bad one): an entry rewritten together with its stored leaf
 *    hash is only visible there, so frequent checkpoints mean tight ranges;
 *  - truncated: badRange = [entries present, size a checkpoint or witness attests);
 *  - witness-mismatch: badRange = [largest witness size that matched, witness size).
 * Memory is O(log n); the hot path makes two SHA-256 calls per entry.
 */
import { isCustosError } from '../../shared/errors.js';
import { openCheckpoint, parseCheckpoint } from './checkpoint.js';
import { AUDIT_ERRORS, auditError } from './errors.js';
import { HASH_SIZE, fromBinary, leafHashBinary, leafHashInPlace, nodeHashInPlace, toBinary } from './hash.js';
import { CompactRange, Frontier, type TreeState } from './merkle.js';
import { splitNote, type NoteVerifier } from './note.js';
import type { CheckedRun, LogEntryRun } from './run.js';
import { checkItem } from './verify-walk.js';

export type { LogEntryRun } from './run.js';

/** One stored entry as the store yields it. */
export interface LogEntryRecord {
  readonly index: number | bigint;
  readonly event: Uint8Array;
  readonly leafHash: Uint8Array;
}

/** One entry, a page of entries or a packed run (run.ts). */
export type Item = LogEntryRecord | readonly LogEntryRecord[] | LogEntryRun;
/** Entries in index order: one by one, in pages, or in packed runs. */
export type EntrySource = AsyncIterable<Item> | Iterable<Item>;
/** Signed notes in non-decreasing tree-size order. */
export type NoteSource = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

export interface VerifyLogInput {
  readonly entries: EntrySource;
  readonly checkpoints: NoteSource;
  /**
   * The log's trusted checkpoint key, or every key it has been signed with
   * (a rotated signing key leaves checkpoints under each version).
   */
  readonly verifier: NoteVerifier | readonly NoteVerifier[];
  /** Origin every checkpoint must carry; defaults to the (first) verifier's key name. */
  readonly origin?: string;
  /** Earlier checkpoint(s) kept off-system (witness copies), signed by the same key. */
  readonly witness?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Called with the number of entries processed: every `progressInterval` entries, and at the end if not just called. */
  readonly onProgress?: (processed: number) => void;
  readonly progressInterval?: number;
  /**
   * Verify a part of the log only: the tree of the first `start.size` entries
   * is taken as given (its compact range), the entries start at that index,
   * and only checkpoints and witnesses of sizes >= start.size may come. The
   * caller must establish `start` itself (verify/parallel.ts checks it
   * against the verified part before it); progress counts from start.size.
   */
  readonly start?: TreeState;
}

export type VerifyReason =
  | 'changed-entry'
  | 'missing-entry'
  | 'unexpected-entry'
  | 'truncated'
  | 'root-mismatch'
  | 'bad-signature'
  | 'malformed-checkpoint'
  | 'witness-mismatch';

export interface VerifyOk {
  readonly ok: true;
  readonly size: number;
  readonly root: Buffer;
  /** Size of the largest checkpoint verified (entries beyond it are not yet attested). */
  readonly checkpointSize: number;
  readonly checkpointCount: number;
  /** Largest witness size the tree was shown to extend (0 without witnesses). */
  readonly witnessSize: number;
}

export interface VerifyFailure {
  readonly ok: false;
  readonly firstBadIndex: number;
  readonly reason: VerifyReason;
  readonly detail: string;
  /** [start, end): the entries the fault puts in doubt; start = firstBadIndex. */
  readonly badRange: { readonly start: number; readonly end: number };
  /** The checkpoint or witness size involved, for checkpoint-level faults. */
  readonly checkpointSize?: number;
}

export type VerifyResult = VerifyOk | VerifyFailure;

interface TreeHead {
  readonly size: number;
  readonly root: string;
}
/** A stored checkpoint as read: verified, or refused with the size it claims (if it has one). */
type Pending =
  | { readonly kind: 'good'; readonly size: number; readonly root: string }
  | { readonly kind: 'refused'; readonly size: number | undefined; readonly reason: VerifyReason; readonly detail: string };

function failure(reason: VerifyReason, start: number, end: number, detail: string, checkpointSize?: number): VerifyFailure {
  return { ok: false, firstBadIndex: start, reason, detail, badRange: { start, end }, ...(checkpointSize === undefined ? {} : { checkpointSize }) };
}

function claimedSize(note: string | Uint8Array): number | undefined {
  try {
    return parseCheckpoint(splitNote(note).text).size;
  } catch {
    return undefined;
  }
}

function verifiersOf(input: VerifyLogInput): readonly NoteVerifier[] {
  return Array.isArray(input.verifier) ? input.verifier : [input.verifier as NoteVerifier];
}

function readCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[], origin: string): Pending {
  try {
    const cp = openCheckpoint(note, verifiers, origin);
    return { kind: 'good', size: cp.size, root: toBinary(cp.root) };
  } catch (e) {
    if (!isCustosError(e)) throw e;
    const signature = e.code === AUDIT_ERRORS.NOTE_BAD_SIGNATURE.code || e.code === AUDIT_ERRORS.NOTE_UNKNOWN_KEY.code;
    return { kind: 'refused', size: claimedSize(note), reason: signature ? 'bad-signature' : 'malformed-checkpoint', detail: e.message };
  }
}

function openWitnesses(input: VerifyLogInput, origin: string): TreeHead[] {
  const given = input.witness === undefined ? [] : Array.isArray(input.witness) ? input.witness : [input.witness];
  const heads = (given as readonly (string | Uint8Array)[]).map((note) => {
    try {
      const cp = openCheckpoint(note, verifiersOf(input), origin);
      return { size: cp.size, root: toBinary(cp.root) };
    } catch (e) {
      throw auditError('WITNESS_INVALID', `witness checkpoint: ${isCustosError(e) ? e.message : String(e)}`);
    }
  });
  return heads.sort((a, b) => a.size - b.size);
}

const changed = (index: number): VerifyFailure =>
  failure('changed-entry', index, index + 1, `entry ${index} does not match its stored leaf hash`);

function toIndex(index: unknown): number {
  const n = typeof index === 'bigint' && index <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(index) : index;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw auditError('VERIFY_INPUT_INVALID', 'entry index must be a non-negative safe integer');
  }
  return n;
}

/** The verification state; `checkEntry` and `checkRun` are the synchronous hot paths (internal: verify-walk.ts drives it). */
export class Verification {
  readonly #frontier: Frontier;
  readonly #checkpoints: AsyncIterator<string | Uint8Array>;
  readonly #input: VerifyLogInput;
  readonly #origin: string;
  readonly #witnesses: TreeHead[];
  readonly #interval: number;
  #pending: Pending | undefined;
  #witnessAt = 0;
  #count = 0;
  #untilProgress: number;
  #lastGood = 0;
  #checkpointCount = 0;
  #lastWitness = 0;
  /** Entry count at which atStop() must run next. */
  nextStop = 0;

  constructor(input: VerifyLogInput) {
    this.#input = input;
    this.#origin = input.origin ?? verifiersOf(input)[0]?.name ?? '';
    this.#witnesses = openWitnesses(input, this.#origin);
    // CompactRange checks that the state is consistent (AUDIT_TREE_STATE_INVALID otherwise).
    const start = new CompactRange(input.start).state();
    this.#frontier = new Frontier(start.size, start.frontier.map(toBinary));
    this.#count = start.size;
    const source = input.checkpoints;
    this.#checkpoints =
      Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (async function* () { yield* source; })();
    const interval = input.progressInterval;
    this.#interval = interval !== undefined && Number.isSafeInteger(interval) && interval > 0 ? interval : 65_536;
    this.#untilProgress = this.#interval;
  }

  get count(): number {
    return this.#count;
  }

  async #pull(): Promise<void> {
    const next = await this.#checkpoints.next();
    this.#pending = next.done ? undefined : readCheckpoint(next.value, verifiersOf(this.#input), this.#origin);
  }

  /** Releases the checkpoint source (a database cursor, say) when verification stops early. */
  async close(): Promise<void> {
    await this.#checkpoints.return?.();
  }

  /** Prepares the first checkpoint and handles everything due at size 0. */
  async start(): Promise<VerifyFailure | undefined> {
    await this.#pull();
    return this.atStop();
  }

  /** Checks one entry; a fault, or undefined once the entry is integrated. */
  checkEntry(record: LogEntryRecord): VerifyFailure | undefined {
    const misplaced = this.#indexFault(record.index);
    if (misplaced) return misplaced;
    const index = this.#count;
    if (!(record.event instanceof Uint8Array)) throw auditError('VERIFY_INPUT_INVALID', 'entry event must be bytes');
    const leaf = leafHashBinary(record.event);
    const stored = record.leafHash;
    if (!(stored instanceof Uint8Array) || stored.length !== HASH_SIZE || toBinary(stored) !== leaf) {
      return changed(index);
    }
    this.#integrate(leaf);
    return undefined;
  }

  /** The fault when entry `raw` is not the one expected next. */
  #indexFault(raw: unknown): VerifyFailure | undefined {
    const expected = this.#count;
    const index = toIndex(raw);
    if (index > expected) {
      return failure('missing-entry', expected, index, `expected entry ${expected}, found ${index}: entries deleted or moved`);
    }
    if (index < expected) {
      return failure('unexpected-entry', index, index + 1, `index ${index} appears again after ${expected - 1} (inserted or reordered entry)`);
    }
    return undefined;
  }

  #integrate(leaf: string): void {
    this.#frontier.append(leaf);
    this.#count++;
    if (--this.#untilProgress === 0) {
      this.#untilProgress = this.#interval;
      this.#input.onProgress?.(this.#count);
    }
  }

  /**
   * Checks the entries of `run` from position `from` until the run ends (returns
   * its length) or a stop falls due (returns the position reached); the same
   * checks, in the same order, as checkEntry.
   */
  checkRun(run: CheckedRun, from: number): number | VerifyFailure {
    const { indexes, data, ends, leafHashes } = run.run;
    const stored = run.storedLeaves;
    const n = indexes.length;
    for (let i = from; i < n; i++) {
      const count = this.#count;
      if (count === this.nextStop) return i;
      const index = indexes[i] as number;
      if (index !== count) return this.#indexFault(index) ?? changed(index);
      const leaf = leafHashInPlace(data, i === 0 ? 0 : (ends[i - 1] as number), ends[i] as number);
      if (stored.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE) !== leaf) return changed(index);
      // A left leaf whose sibling comes next and passes the same checks with no stop or
      // progress report between them: both go in as their parent, hashed over the stored
      // leaf hashes (just shown equal to the computed ones) in place. Otherwise one by one.
      if (count % 2 === 0 && i > 0 && i + 1 < n && count + 1 !== this.nextStop && this.#untilProgress >= 2 && indexes[i + 1] === count + 1) {
        const right = leafHashInPlace(data, ends[i] as number, ends[i + 1] as number);
        if (stored.slice((i + 1) * HASH_SIZE, (i + 2) * HASH_SIZE) === right) {
          this.#integratePair(nodeHashInPlace(leafHashes, i * HASH_SIZE - 1));
          i++;
          continue;
        }
      }
      this.#integrate(leaf);
    }
    return n;
  }

  /** #integrate of two sibling leaves at once, by their parent (the tree size is even). */
  #integratePair(parent: string): void {
    this.#frontier.appendSubtree(1, parent);
    this.#count += 2;
    this.#untilProgress -= 2;
    if (this.#untilProgress === 0) {
      this.#untilProgress = this.#interval;
      this.#input.onProgress?.(this.#count);
    }
  }

  #checkWitnesses(root: () => string): VerifyFailure | undefined {
    for (let w = this.#witnesses[this.#witnessAt]; w?.size === this.#count; w = this.#witnesses[++this.#witnessAt]) {
      if (w.root !== root()) {
        const detail = `the tree of size ${w.size} is not the one the witness holds: history was rewritten (and re-signed) after it`;
        return failure('witness-mismatch', this.#lastWitness, w.size, detail, w.size);
      }
      this.#lastWitness = w.size;
    }
    return undefined;
  }

  /** Handles every checkpoint and witness due at the current size, then sets nextStop. */
  async atStop(): Promise<VerifyFailure | undefined> {
    let cached: string | undefined;
    const root = (): string => (cached ??= this.#frontier.root());
    for (let p = this.#pending; p !== undefined && (p.size === undefined || p.size <= this.#count); p = this.#pending) {
      if (p.kind === 'refused') return failure(p.reason, this.#lastGood, Math.max(p.size ?? this.#count, this.#lastGood + 1), p.detail, p.size);
      if (p.size < this.#count) throw auditError('VERIFY_INPUT_INVALID', 'checkpoints must come in non-decreasing size order');
      if (p.root !== root()) {
        return failure('root-mismatch', this.#lastGood, p.size, `checkpoint of size ${p.size} does not match the entries`, p.size);
      }
      this.#lastGood = p.size;
      this.#checkpointCount++;
      await this.#pull();
    }
    const witnessFault = this.#checkWitnesses(root);
    if (witnessFault) return witnessFault;
    this.nextStop = Math.min(this.#pending?.size ?? Infinity, this.#witnesses[this.#witnessAt]?.size ?? Infinity);
    return undefined;
  }

  /** The tree as far as verified (a compact range: O(log n) hashes). */
  state(): TreeState {
    return { size: this.#frontier.size, frontier: this.#frontier.frontier() };
  }

  /** After the last entry: what remains attested beyond the end is truncation. */
  async finish(): Promise<VerifyResult> {
    const fault = await this.atStop();
    if (fault) return fault;
    if (this.#untilProgress !== this.#interval || this.#count === 0) this.#input.onProgress?.(this.#count);
    const p = this.#pending;
    if (p?.kind === 'refused') return failure(p.reason, this.#lastGood, Math.max(p.size ?? 0, this.#lastGood + 1), p.detail, p.size);
    const beyond = p?.size ?? this.#witnesses[this.#witnessAt]?.size;
    if (beyond !== undefined) {
      const detail = `a ${p ? 'checkpoint' : 'witness'} attests ${beyond} entries but the log ends at ${this.#count}`;
      return failure('truncated', this.#count, beyond, detail, beyond);
    }
    return {
      ok: true,
      size: this.#count,
      root: fromBinary(this.#frontier.root()),
      checkpointSize: this.#lastGood,
      checkpointCount: this.#checkpointCount,
      witnessSize: this.#lastWitness,
    };
  }
}

/**
 * Verifies a whole log (see the module comment for what each result means).
 * Resolves to { ok: true, ... } or to the first fault; rejects only when it
 * cannot run: AUDIT_WITNESS_INVALID (a witness note that does not open),
 * AUDIT_VERIFY_INPUT_INVALID (non-numeric index, non-byte event, checkpoints
 * out of order), AUDIT_TREE_STATE_INVALID (an inconsistent `start`), or an
 * error of the sources themselves.
 */
export async function verifyLog(input: VerifyLogInput): Promise<VerifyResult> {
  return (await verifyLogState(input)).result;
}

/** verifyLog, plus the tree state where the walk ended (after the last entry, or at the fault). */
export async function verifyLogState(input: VerifyLogInput): Promise<{ result: VerifyResult; state: TreeState }> {
  const run = new Verification(input);
  try {
    const result = await walk(run, input.entries);
    return { result, state: run.state() };
  } finally {
    await run.close();
  }
}

async function walk(run: Verification, source: EntrySource): Promise<VerifyResult> {
  const early = await run.start();
  if (early) return early;
  if (Symbol.asyncIterator in source) {
    for await (const item of source) {
      const fault = await checkItem(run, item);
      if (fault) return fault;
    }
  } else {
    // A synchronous source (an array, a generator) is walked without a microtask per entry.
    for (const item of source) {
      const fault = await checkItem(run, item);
      if (fault) return fault;
    }
  }
  return run.finish();
}
