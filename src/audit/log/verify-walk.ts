/**
 * How the verifier walks its entry source: records, pages and packed runs
 * in order, checkpoint stops as they fall due, and (with `hashRun`) one run
 * hashed elsewhere while the source reads the next.
 */
import { auditError } from './errors.js';
import { checkedRun, isRun, type CheckedRun, type LogEntryRun, type RunHashes } from './run.js';
import type { Item, LogEntryRecord, Verification, VerifyFailure } from './verify.js';

type Checked = VerifyFailure | undefined | Promise<VerifyFailure | undefined>;

/**
 * Feeds items to the verification in order. With `hashRun`, a run is held
 * back until the next item arrives: its leaves are hashed elsewhere while the
 * source reads the next one, then it is checked exactly as any run.
 */
export class Lookahead {
  #held: { packed: CheckedRun; leaves: Promise<RunHashes> } | undefined;

  constructor(
    readonly run: Verification,
    readonly hashRun: ((run: LogEntryRun) => Promise<RunHashes>) | undefined,
  ) {}

  check(item: Item): Checked {
    if (this.hashRun === undefined) return checkItem(this.run, item);
    if (!isRun(item)) return this.flush().then((fault) => fault ?? checkItem(this.run, item));
    const packed = checkedRun(item);
    const next = { packed, leaves: this.hashRun(item) };
    // Awaited when its turn comes; until then a failure must not surface as an unhandled rejection.
    next.leaves.catch(() => undefined);
    const held = this.#held;
    this.#held = next;
    return held && this.#check(held);
  }

  /** Checks the run held back, if any. */
  async flush(): Promise<VerifyFailure | undefined> {
    const held = this.#held;
    this.#held = undefined;
    return held && this.#check(held);
  }

  async #check(held: { packed: CheckedRun; leaves: Promise<RunHashes> }): Promise<VerifyFailure | undefined> {
    const computed = await held.leaves;
    if (computed.leaves.length !== held.packed.storedLeaves.length) throw auditError('VERIFY_INPUT_INVALID', 'entry run: wrong number of computed leaf hashes');
    held.packed.computed = computed;
    return checkRunFrom(this.run, held.packed, 0);
  }
}

/** Checks one entry, one page or one run of entries, running checkpoint stops as they fall due. */
export function checkItem(run: Verification, item: Item): Checked {
  if (isRun(item)) return checkRunFrom(run, checkedRun(item), 0);
  if (!Array.isArray(item)) {
    const record = item as LogEntryRecord;
    if (run.count === run.nextStop) return run.atStop().then((fault) => fault ?? run.checkEntry(record));
    return run.checkEntry(record);
  }
  const page = item as readonly LogEntryRecord[];
  for (let i = 0; i < page.length; i++) {
    if (run.count === run.nextStop) return checkRestAfterStop(run, page, i);
    const fault = run.checkEntry(page[i] as LogEntryRecord);
    if (fault) return fault;
  }
  return undefined;
}

export function checkRunFrom(run: Verification, packed: CheckedRun, from: number): Checked {
  const reached = run.checkRun(packed, from);
  if (typeof reached !== 'number') return reached;
  if (reached === packed.run.indexes.length) return undefined;
  return run.atStop().then((fault) => fault ?? checkRunFrom(run, packed, reached));
}

async function checkRestAfterStop(run: Verification, page: readonly LogEntryRecord[], from: number): Promise<VerifyFailure | undefined> {
  const fault = await run.atStop();
  return fault ?? checkItem(run, page.slice(from));
}
