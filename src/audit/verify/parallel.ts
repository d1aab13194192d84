/**
 * Parallel verification of a stored (unpruned) log: [0, end) is split into
 * contiguous parts that shrink towards the end; this thread and `threads - 1`
 * worker threads (crew.ts) take parts from a shared counter (a thread that
 * starts late or runs slow just takes fewer), each on a read-only connection of its own,
 * running the core verifier (log/verify.ts) over the part: leaf hashes
 * recomputed and compared, index continuity, and every checkpoint and
 * witness whose size falls in the part, signature and root.
 *
 * A part's roots depend on the tree before it, which only the parts before it
 * compute. So each part starts from the compact range at its first index as
 * the stored nodes give it (a guess: O(log n) hashes, one query), and once
 * every part is done this thread checks the guesses: part k must end with
 * exactly the compact range part k + 1 started from, part 0 starts from the
 * empty tree. By induction every root compared was the root of the verified
 * entries, so the parts together checked what a whole-log walk checks.
 *
 * The answer is "ok" (with the whole-log result) or "doubt": any fault, any
 * error, a wrong guess or a part that did not end where it should. Doubt
 * says nothing about the log; the caller then runs the sequential verifier,
 * which gives the exact diagnosis (stored.ts).
 */
import { openAuditReader, type AuditLogReader, type ReadOnlySource } from '../../db/dialects/audit-reader.js';
import type { Db } from '../../db/index.js';
import { ed25519RawPublicKey, loadTreeState, openCheckpoint, type NoteVerifier, type TreeState, type VerifyOk } from '../log/index.js';
import { nodeReader } from '../store.js';
import { startVerifyCrew, type VerifyCrew } from './crew.js';
import { stopTaking, takeParts, type Job, type Part, type PartReport } from './range.js';

/** Logs smaller than this are verified in one thread unless a thread count is forced (a worker costs ~0.1 s to start). */
export const PARALLEL_MIN_ENTRIES = 32_768;
/** Split points are multiples of this, so the compact range there is made of stored nodes only (level >= 4, store.ts). */
const ALIGN = 16;
/** The smallest part (entries): each costs a few queries and a verifier's set-up. */
const MIN_PART = 4096;

export interface ParallelOptions {
  readonly source: ReadOnlySource;
  /** Entries [0, end) and checkpoints up to maxCheckpoint, as read when verification started. */
  readonly end: number;
  readonly maxCheckpoint: number;
  readonly verifiers: readonly NoteVerifier[];
  readonly origin: string;
  readonly witness: readonly string[];
  /** Threads verifying, this one included (>= 2); with `crew`, its size + 1. */
  readonly threads: number;
  /** Workers started earlier (crew.ts; closed here once the job is answered); else this starts threads - 1. */
  readonly crew?: VerifyCrew | undefined;
  readonly pageSize: number;
  readonly onProgress?: ((processed: number) => void) | undefined;
  /** Tests: these split points (0 < s < end) instead of the guided ones; every part in this thread (no workers), or every part in the workers. */
  readonly splits?: readonly number[] | undefined;
  readonly inline?: boolean | undefined;
  readonly workersOnly?: boolean | undefined;
}

export type ParallelVerdict = { readonly ok: true; readonly result: VerifyOk } | { readonly ok: false; readonly doubt: string };

const doubt = (why: string): ParallelVerdict => ({ ok: false, doubt: why });

/**
 * Split points of [0, end) for `threads` threads, guided: each part is
 * 1/(2 threads) of what is left (multiples of ALIGN, at least MIN_PART), so
 * parts shrink towards the end. Threads take them in order; a thread that
 * starts late or runs slow takes fewer, and whichever part is last to finish
 * is small, so the threads end close together.
 */
export function guidedSplits(end: number, threads: number): number[] {
  const splits: number[] = [];
  for (let at = 0; ; ) {
    const size = Math.ceil(Math.max(MIN_PART, (end - at) / (2 * threads)) / ALIGN) * ALIGN;
    // The last part takes the rest rather than leave a sliver (and no size at all, for a thread count that is not a number).
    if (!(end - at - size >= MIN_PART)) return splits;
    at += size;
    splits.push(at);
  }
}

const sameState = (a: { size: number; frontier: readonly Uint8Array[] }, b: TreeState): boolean =>
  a.size === b.size && a.frontier.length === b.frontier.length && a.frontier.every((h, i) => Buffer.from(h).equals(b.frontier[i] as Buffer));

/** The witness notes by the part whose sizes they fall in; undefined when one does not open (the sequential verifier reports that). */
function witnessParts(options: ParallelOptions, bounds: readonly number[]): string[][] | undefined {
  const parts: string[][] = bounds.slice(1).map(() => []);
  for (const note of options.witness) {
    let size: number;
    try {
      size = openCheckpoint(note, options.verifiers, options.origin).size;
    } catch {
      return undefined;
    }
    let k = 0;
    while (k < parts.length - 1 && size > (bounds[k + 1] as number)) k++;
    parts[k]?.push(note);
  }
  return parts;
}

/** The parts of [0, end) at `bounds`, each with its checkpoints' size window, its witnesses and its stored start. */
function partsOf(options: ParallelOptions, bounds: readonly number[], starts: readonly TreeState[], witness: readonly string[][]): Part[] {
  const last = bounds.length - 2;
  return starts.map((start, k) => ({
    from: bounds[k] as number,
    to: bounds[k + 1] as number,
    checkpointsAfter: k === 0 ? -1 : (bounds[k] as number),
    checkpointsMax: k === last ? options.maxCheckpoint : Math.min(bounds[k + 1] as number, options.maxCheckpoint),
    // Part 0 starts from the empty tree, whatever the store says.
    start: k === 0 ? { size: 0, frontier: [] } : start,
    witness: witness[k] as string[],
  }));
}

/**
 * Verifies [0, options.end) in parts (see the module comment). `db` is the
 * caller's connection, used for the stored compact ranges at the split points.
 */
export async function verifyInParallel(db: Pick<Db, 'read'>, options: ParallelOptions): Promise<ParallelVerdict> {
  // Workers and this thread's connection first: they start while the split points' compact ranges are read.
  const crew = options.inline ? undefined : (options.crew ?? startVerifyCrew(options.source, options.threads - 1));
  const reader = openAuditReader(options.source);
  reader.catch(() => {});
  try {
    const threads = crew ? crew.size + 1 : options.threads;
    const prepared = await prepare(db, options, threads);
    if (!prepared.ok) return prepared;
    return await runParts(options, prepared.parts, crew, await reader);
  } catch (e) {
    return doubt(e instanceof Error ? e.message : String(e));
  } finally {
    // A crew runs one job: once it is answered (or in doubt, before the one-thread walk) its workers stop.
    await Promise.all([reader.then((r) => r.close()).catch(() => {}), crew?.close()]);
  }
}

/** The parts of [0, end) with their stored starts and witnesses, or the doubt that stops here. */
async function prepare(db: Pick<Db, 'read'>, options: ParallelOptions, threads: number): Promise<{ ok: true; parts: Part[] } | { ok: false; doubt: string }> {
  const { end } = options;
  const splits = options.splits ?? guidedSplits(end, threads);
  const bounds = [0, ...splits.filter((s, i, a) => s > 0 && s < end && (i === 0 || s > (a[i - 1] as number))), end];
  const witness = witnessParts(options, bounds);
  if (!witness) return { ok: false, doubt: 'a witness does not open' };
  let starts: TreeState[];
  try {
    starts = await db.read(async (tx) => Promise.all(bounds.slice(0, -1).map((a) => loadTreeState(nodeReader(tx), a))));
  } catch (e) {
    return { ok: false, doubt: `stored compact range: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { ok: true, parts: partsOf(options, bounds, starts, witness) };
}

/** Every part verified by this thread (on `reader`) and the crew's workers, each taking the next from a shared counter. */
async function runParts(options: ParallelOptions, parts: readonly Part[], crew: VerifyCrew | undefined, reader: AuditLogReader): Promise<ParallelVerdict> {
  const job: Job = {
    parts,
    verifiers: options.verifiers.map((v) => ({ name: v.name, key: ed25519RawPublicKey(v.publicKey) })),
    origin: options.origin,
    pageSize: options.pageSize,
    counter: new Int32Array(new SharedArrayBuffer(8)),
  };
  const done: Array<Extract<PartReport, { kind: 'done' }>> = [];
  const processed = parts.map(() => 0);
  let fault: string | undefined;
  let reported = 0;
  let onEnd = () => {};
  // Resolves at the first fault, or once every part is reported.
  const ended = new Promise<void>((resolve) => (onEnd = resolve));
  const report = (r: PartReport) => {
    processed[r.part] = r.kind === 'done' ? (parts[r.part] as Part).to - (parts[r.part] as Part).from : r.processed;
    options.onProgress?.(processed.reduce((a, b) => a + b, 0));
    if (r.kind !== 'done') return;
    if (done[r.part] === undefined) reported++;
    done[r.part] = r;
    if (!r.result.ok) fail(`part ${r.part}: ${r.result.reason} at ${r.result.firstBadIndex}`);
    if (reported === parts.length) onEnd();
  };
  const fail = (why: string) => {
    fault ??= why;
    stopTaking(job.counter);
    onEnd();
  };
  // A worker that fails once every part is in (slow to connect, say) changes nothing; before, it may hold a part that will never come.
  const workerFailed = (why: string | undefined) => why !== undefined && reported < parts.length && fail(why);
  const finished = (crew?.run(job, report) ?? []).map((w) => w.then(workerFailed));
  // This thread takes parts too, letting its event loop turn between them to hear the workers.
  if (!options.workersOnly || finished.length === 0) {
    await takeParts(job, reader, report, () => new Promise((resolve) => setImmediate(resolve))).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
  }
  // Every thread done without every part reported: combine() says which part is missing.
  await Promise.race([ended, Promise.all(finished)]);
  return fault === undefined ? combine(done, parts, options.end) : doubt(fault);
}

/** The whole-log result once every part is ok and every guessed start is the state the part before it ended with. */
function combine(done: ReadonlyArray<Extract<PartReport, { kind: 'done' }> | undefined>, parts: readonly Part[], end: number): ParallelVerdict {
  let checkpointCount = 0;
  let checkpointSize = 0;
  let witnessSize = 0;
  for (const [k, part] of parts.entries()) {
    const d = done[k];
    if (!d) return doubt(`part ${k} was not verified`);
    const r = d.result;
    if (!r.ok) return doubt(`part ${k}: ${r.reason}`);
    if (r.size !== part.to || d.state.size !== part.to) return doubt(`part ${k} ended at ${r.size}, not ${part.to}`);
    const next = parts[k + 1];
    if (next && !sameState(d.state, { size: next.start.size, frontier: next.start.frontier.map((h) => Buffer.from(h)) })) {
      return doubt(`the stored compact range at ${next.from} is not the verified one`);
    }
    checkpointCount += r.checkpointCount;
    checkpointSize = Math.max(checkpointSize, r.checkpointSize);
    witnessSize = Math.max(witnessSize, r.witnessSize);
  }
  const final = done[parts.length - 1]?.result as VerifyOk;
  if (final.size !== end) return doubt(`the parts end at ${final.size}, not ${end}`);
  return { ok: true, result: { ok: true, size: final.size, root: Buffer.from(final.root), checkpointSize, checkpointCount, witnessSize } };
}
