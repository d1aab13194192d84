/**
 * Verifier for a log whose oldest entries were archived and pruned. The core
 * verifier (log/verify.ts) recomputes every leaf from its event, which a
 * pruned entry no longer has; here the leaves below the prune floor are the
 * level-0 hashes kept in audit_nodes (taken as given: the archive bundle
 * proved them when it was written), the entries from the floor on are
 * recomputed from their events, and every stored checkpoint and witness is
 * checked against the tree exactly as the core verifier does. Results have
 * the core's shape and meaning.
 */
import { createError, isCustosError } from '../../shared/errors.js';
import {
  AUDIT_ERRORS,
  CompactRange,
  leafHash,
  openCheckpoint,
  parseCheckpoint,
  splitNote,
  type LogEntryRecord,
  type NoteVerifier,
  type VerifyFailure,
  type VerifyReason,
  type VerifyResult,
} from '../log/index.js';

export interface PrunedLogInput {
  /** Leaf hashes of the pruned entries [0, floor), in index order. */
  readonly prunedLeaves: AsyncIterable<ReadonlyArray<{ readonly index: number; readonly hash: Uint8Array }>>;
  /** Entries from the floor on, in index order. */
  readonly entries: AsyncIterable<readonly LogEntryRecord[]>;
  readonly checkpoints: AsyncIterable<string>;
  readonly verifier: NoteVerifier | readonly NoteVerifier[];
  readonly origin: string;
  readonly witness?: readonly string[] | undefined;
  readonly onProgress?: ((processed: number) => void) | undefined;
}

type Head = { size: number; root: Buffer };
type Pending = { ok: true; head: Head } | { ok: false; size: number | undefined; reason: VerifyReason; detail: string };

function fail(reason: VerifyReason, start: number, end: number, detail: string, checkpointSize?: number): VerifyFailure {
  return { ok: false, firstBadIndex: start, reason, detail, badRange: { start, end }, ...(checkpointSize === undefined ? {} : { checkpointSize }) };
}

const verifiers = (input: PrunedLogInput): readonly NoteVerifier[] => (Array.isArray(input.verifier) ? input.verifier : [input.verifier as NoteVerifier]);

function open(note: string, input: PrunedLogInput): Pending {
  try {
    const cp = openCheckpoint(note, verifiers(input), input.origin);
    return { ok: true, head: { size: cp.size, root: cp.root } };
  } catch (e) {
    if (!isCustosError(e)) throw e;
    let size: number | undefined;
    try {
      size = parseCheckpoint(splitNote(note).text).size;
    } catch {
      size = undefined;
    }
    const signature = e.code === 'AUDIT_NOTE_BAD_SIGNATURE' || e.code === 'AUDIT_NOTE_UNKNOWN_KEY';
    return { ok: false, size, reason: signature ? 'bad-signature' : 'malformed-checkpoint', detail: e.message };
  }
}

class Walk {
  readonly range = new CompactRange();
  readonly #cps: AsyncIterator<string>;
  readonly #witnesses: Head[];
  #pending: Pending | undefined;
  #w = 0;
  lastGood = 0;
  lastWitness = 0;
  count = 0;
  checkpoints = 0;

  constructor(readonly input: PrunedLogInput) {
    this.#cps = input.checkpoints[Symbol.asyncIterator]();
    this.#witnesses = (input.witness ?? []).map((note) => {
      try {
        const c = openCheckpoint(note, verifiers(input), input.origin);
        return { size: c.size, root: c.root };
      } catch (e) {
        const { code, status } = AUDIT_ERRORS.WITNESS_INVALID;
        throw createError(code, `witness checkpoint: ${isCustosError(e) ? e.message : String(e)}`, status);
      }
    });
    this.#witnesses.sort((a, b) => a.size - b.size);
  }

  async pull(): Promise<void> {
    const next = await this.#cps.next();
    this.#pending = next.done ? undefined : open(next.value, this.input);
  }

  get nextStop(): number {
    const p = this.#pending;
    const cp = p === undefined ? Infinity : p.ok ? p.head.size : (p.size ?? this.count);
    return Math.min(cp, this.#witnesses[this.#w]?.size ?? Infinity);
  }

  /** Every checkpoint and witness due at the current size. */
  async stop(): Promise<VerifyFailure | undefined> {
    for (let p = this.#pending; p !== undefined; p = this.#pending) {
      if (!p.ok) {
        if (p.size !== undefined && p.size > this.count) break;
        return fail(p.reason, this.lastGood, Math.max(p.size ?? this.count, this.lastGood + 1), p.detail, p.size);
      }
      if (p.head.size > this.count) break;
      if (!p.head.root.equals(this.range.root())) {
        return fail('root-mismatch', this.lastGood, p.head.size, `checkpoint of size ${p.head.size} does not match the entries`, p.head.size);
      }
      this.lastGood = p.head.size;
      this.checkpoints++;
      await this.pull();
    }
    for (let w = this.#witnesses[this.#w]; w?.size === this.count; w = this.#witnesses[++this.#w]) {
      if (!w.root.equals(this.range.root())) {
        return fail('witness-mismatch', this.lastWitness, w.size, `the tree of size ${w.size} is not the one the witness holds: history was rewritten (and re-signed) after it`, w.size);
      }
      this.lastWitness = w.size;
    }
    return undefined;
  }

  /** Runs the stops due before position `index`, then checks that `index` comes next. */
  async step(index: number, what: string): Promise<VerifyFailure | undefined> {
    if (this.count === this.nextStop) {
      const fault = await this.stop();
      if (fault) return fault;
    }
    if (index > this.count) return fail('missing-entry', this.count, index, `expected ${what} ${this.count}, found ${index}: deleted or moved`);
    if (index < this.count) return fail('unexpected-entry', index, index + 1, `index ${index} appears again (inserted or reordered)`);
    return undefined;
  }

  add(leaf: Uint8Array): void {
    this.range.append(leaf);
    this.count++;
    if (this.count % 65_536 === 0) this.input.onProgress?.(this.count);
  }

  async finish(): Promise<VerifyResult> {
    const fault = await this.stop();
    if (fault) return fault;
    this.input.onProgress?.(this.count);
    const p = this.#pending;
    if (p !== undefined && !p.ok) return fail(p.reason, this.lastGood, Math.max(p.size ?? 0, this.lastGood + 1), p.detail, p.size);
    const beyond = p?.ok ? p.head.size : this.#witnesses[this.#w]?.size;
    if (beyond !== undefined) {
      return fail('truncated', this.count, beyond, `a ${p ? 'checkpoint' : 'witness'} attests ${beyond} entries but the log ends at ${this.count}`, beyond);
    }
    return { ok: true, size: this.count, root: this.range.root(), checkpointSize: this.lastGood, checkpointCount: this.checkpoints, witnessSize: this.lastWitness };
  }
}

/** Verifies a pruned log (see the module comment); rejects only when it cannot run. */
export async function verifyPrunedLog(input: PrunedLogInput): Promise<VerifyResult> {
  const walk = new Walk(input);
  await walk.pull();
  for await (const page of input.prunedLeaves) {
    for (const leaf of page) {
      const fault = await walk.step(leaf.index, 'pruned leaf hash');
      if (fault) return fault;
      walk.add(leaf.hash);
    }
  }
  for await (const page of input.entries) {
    for (const entry of page) {
      const index = Number(entry.index);
      const fault = await walk.step(index, 'entry');
      if (fault) return fault;
      const leaf = leafHash(entry.event);
      if (!leaf.equals(entry.leafHash)) return fail('changed-entry', index, index + 1, `entry ${index} does not match its stored leaf hash`);
      walk.add(leaf);
    }
  }
  return walk.finish();
}
