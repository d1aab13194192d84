/**
 * The parts of a parallel verification (parallel.ts) and the loop that
 * verifies them, run by the calling thread and by each worker thread
 * (crew-worker.ts) alike: take the next part from a shared counter, verify
 * its entries [from, to) on this thread's own read-only connection with the
 * core verifier (log/verify.ts: the same code and order as a whole-log walk)
 * on top of the given tree state at `from`, with the checkpoints and
 * witnesses whose sizes fall in the part; report; repeat. Everything in a
 * job and in a report is plain data (it crosses to threads).
 */
import type { AuditLogReader } from '../../db/dialects/audit-reader.js';
// The modules themselves, not log/index.js: a worker thread loads this file, and every module costs it start-up time.
import { noteVerifier, type NoteVerifier } from '../log/note.js';
import { verifyLogState, type VerifyResult } from '../log/verify.js';
import { entryRuns, notes, readerPages } from './sources.js';

/** One part of the log. */
export interface Part {
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
}

/** Everything the threads share: the parts, whom to trust, and the counter they take parts from (each thread has its own connection). */
export interface Job {
  readonly parts: readonly Part[];
  readonly verifiers: ReadonlyArray<{ readonly name: string; readonly key: Uint8Array }>;
  readonly origin: string;
  readonly pageSize: number;
  /** [0]: the next part to take; [1]: non-zero once a thread found something (the others stop taking parts). */
  readonly counter: Int32Array;
}

/** What a thread says about a part: how far it got, or what it found (the core verifier's result and where the walk stopped). */
export type PartReport =
  | { readonly kind: 'progress'; readonly part: number; readonly processed: number }
  | { readonly kind: 'done'; readonly part: number; readonly result: VerifyResult; readonly state: { readonly size: number; readonly frontier: readonly Uint8Array[] } };

const NEXT = 0;
const STOP = 1;

/** Tells every thread to take no further part. */
export function stopTaking(counter: Int32Array): void {
  Atomics.store(counter, STOP, 1);
}

async function verifyPart(reader: AuditLogReader, job: Job, verifiers: readonly NoteVerifier[], k: number, report: (r: PartReport) => void): Promise<void> {
  const part = job.parts[k] as Part;
  const pages = readerPages(reader);
  const { result, state } = await verifyLogState({
    entries: entryRuns(pages, part.from, part.to, job.pageSize),
    checkpoints: notes(pages, part.checkpointsAfter, part.checkpointsMax, job.pageSize),
    verifier: verifiers,
    origin: job.origin,
    witness: part.witness,
    start: { size: part.start.size, frontier: part.start.frontier.map((h) => Buffer.from(h)) },
    onProgress: (count) => report({ kind: 'progress', part: k, processed: count - part.from }),
    progressInterval: 16_384,
  });
  if (!result.ok) stopTaking(job.counter);
  report({ kind: 'done', part: k, result, state });
}

/**
 * Takes parts until none is left or a thread found something, on `reader`
 * (this thread's own connection, which the caller opens and closes);
 * `between` runs after each part (the calling thread lets its event loop
 * turn there, to hear the workers).
 */
export async function takeParts(job: Job, reader: AuditLogReader, report: (r: PartReport) => void, between: () => Promise<void> = async () => {}): Promise<void> {
  const verifiers = job.verifiers.map((v) => noteVerifier(v.name, v.key));
  for (;;) {
    if (Atomics.load(job.counter, STOP) !== 0) return;
    const k = Atomics.add(job.counter, NEXT, 1);
    if (k >= job.parts.length) return;
    await verifyPart(reader, job, verifiers, k, report);
    await between();
  }
}
