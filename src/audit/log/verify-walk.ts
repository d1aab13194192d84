/**
 * How the verifier walks its entry source: records, pages and packed runs
 * in order, checkpoint stops as they fall due.
 */
import { checkedRun, isRun, type CheckedRun } from './run.js';
import type { Item, LogEntryRecord, Verification, VerifyFailure } from './verify.js';

type Checked = VerifyFailure | undefined | Promise<VerifyFailure | undefined>;

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
