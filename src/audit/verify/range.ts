/**
 * One part of a parallel verification (parallel.ts): entries [from, to) on a
 * connection of its own, checked by the core verifier (log/verify.ts, the
 * same code and order as a whole-log verification) on top of a given tree
 * state at `from`, with the checkpoints and witnesses whose sizes fall in
 * this part. It runs in a worker thread (range-worker.ts) or, for tests, in
 * the calling one. Everything in a task and its outcome is plain data.
 */
import { openAuditReader, type ReadOnlySource } from '../../db/dialects/audit-reader.js';
import { noteVerifier, verifyLogState, type VerifyResult } from '../log/index.js';
import { entryRuns, notes, readerPages } from './sources.js';

export interface RangeTask {
  readonly source: ReadOnlySource;
  /** Entries [from, to). */
  readonly from: number;
  readonly to: number;
  /** Checkpoints stored under sizes in (checkpointsAfter, checkpointsMax]. */
  readonly checkpointsAfter: number;
  readonly checkpointsMax: number;
  /** The compact range of the tree of `from` entries, as read from the stored nodes: unverified until parallel.ts compares it. */
  readonly start: { readonly size: number; readonly frontier: readonly Uint8Array[] };
  /** Witness notes whose sizes fall in this part. */
  readonly witness: readonly string[];
  readonly verifiers: ReadonlyArray<{ readonly name: string; readonly key: Uint8Array }>;
  readonly origin: string;
  readonly pageSize: number;
  /** Report progress every this many entries. */
  readonly progressEvery: number;
}

/** What a part found: the core verifier's result and the tree state where it stopped. */
export interface RangeOutcome {
  readonly kind: 'done';
  readonly result: VerifyResult;
  readonly state: { readonly size: number; readonly frontier: readonly Uint8Array[] };
}

/** Verifies the part `task` describes; `onProgress` hears the entries processed so far (of this part). */
export async function verifyRange(task: RangeTask, onProgress: (processed: number) => void): Promise<RangeOutcome> {
  const reader = await openAuditReader(task.source);
  const pages = readerPages(reader);
  try {
    const { result, state } = await verifyLogState({
      entries: entryRuns(pages, task.from, task.to, task.pageSize),
      checkpoints: notes(pages, task.checkpointsAfter, task.checkpointsMax, task.pageSize),
      verifier: task.verifiers.map((v) => noteVerifier(v.name, v.key)),
      origin: task.origin,
      witness: task.witness,
      start: { size: task.start.size, frontier: task.start.frontier.map((h) => Buffer.from(h)) },
      onProgress: (count) => onProgress(count - task.from),
      progressInterval: task.progressEvery,
    });
    return { kind: 'done', result, state };
  } finally {
    await reader.close();
  }
}
