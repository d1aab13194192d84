/**
 * Parallel verification of a stored (unpruned) log: [0, end) is split into
 * contiguous parts, one per worker thread; each worker opens its own
 * read-only connection and runs the core verifier (log/verify.ts) over its
 * part: leaf hashes recomputed and compared, index continuity, and every
 * checkpoint and witness whose size falls in the part, signature and root.
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
import { Worker } from 'node:worker_threads';
import type { ReadOnlySource } from '../../db/dialects/audit-reader.js';
import type { Db } from '../../db/index.js';
import { ed25519RawPublicKey, loadTreeState, openCheckpoint, type NoteVerifier, type TreeState, type VerifyOk } from '../log/index.js';
import { nodeReader } from '../store.js';
import { verifyRange, type RangeOutcome, type RangeTask } from './range.js';

/** Logs smaller than this are verified in one thread unless a thread count is forced (starting a worker costs tens of ms). */
export const PARALLEL_MIN_ENTRIES = 65_536;
/** Split points are multiples of this, so the compact range there is made of stored nodes only (level >= 4, store.ts). */
const ALIGN = 16;

export interface ParallelOptions {
  readonly source: ReadOnlySource;
  /** Entries [0, end) and checkpoints up to maxCheckpoint, as read when verification started. */
  readonly end: number;
  readonly maxCheckpoint: number;
  readonly verifiers: readonly NoteVerifier[];
  readonly origin: string;
  readonly witness: readonly string[];
  readonly threads: number;
  readonly pageSize: number;
  readonly onProgress?: ((processed: number) => void) | undefined;
  /** Tests: these split points (0 < s < end) instead of even ones, and the parts run in this thread instead of workers. */
  readonly splits?: readonly number[] | undefined;
  readonly inline?: boolean | undefined;
}

export type ParallelVerdict = { readonly ok: true; readonly result: VerifyOk; readonly parts: number } | { readonly ok: false; readonly doubt: string };

const doubt = (why: string): ParallelVerdict => ({ ok: false, doubt: why });

/** Split points for `parts` nearly equal parts of [0, end), multiples of ALIGN; fewer when the log is too small. */
export function evenSplits(end: number, parts: number): number[] {
  const splits: number[] = [];
  for (let k = 1; k < parts; k++) {
    const s = Math.floor((end * k) / parts / ALIGN) * ALIGN;
    if (s > (splits.at(-1) ?? 0) && s < end) splits.push(s);
  }
  return splits;
}

interface Running {
  readonly outcome: Promise<RangeOutcome>;
  stop(): Promise<void>;
}

/**
 * The worker: the built range-worker.js next to this file, or, when this runs
 * from TypeScript sources (tests, under tsx), range-worker.ts loaded through
 * tsx, which a worker does not inherit (it costs about half a second to start).
 */
function startWorker(task: RangeTask): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./range-worker.js', import.meta.url), { workerData: task });
  const url = JSON.stringify(new URL('./range-worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${url}); })`, { eval: true, workerData: task });
}

function inWorker(task: RangeTask, onProgress: (processed: number) => void): Running {
  const worker = startWorker(task);
  const outcome = new Promise<RangeOutcome>((resolve, reject) => {
    worker.on('message', (m: { kind: string; processed?: number; message?: string }) => {
      if (m.kind === 'progress') onProgress(m.processed as number);
      else if (m.kind === 'done') resolve(m as unknown as RangeOutcome);
      else reject(new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`verification worker exited (${code})`)));
  });
  return { outcome, stop: async () => void (await worker.terminate()) };
}

function inline(task: RangeTask, onProgress: (processed: number) => void): Running {
  return { outcome: verifyRange(task, onProgress), stop: async () => {} };
}

/** Resolves with every outcome, or undefined as soon as one part fails or finds a fault (no need to wait for the others). */
function allOk(runs: readonly Running[]): Promise<RangeOutcome[] | string> {
  return new Promise((resolve) => {
    const outcomes: RangeOutcome[] = [];
    let left = runs.length;
    runs.forEach((r, k) =>
      r.outcome.then(
        (o) => {
          outcomes[k] = o;
          if (!o.result.ok) resolve(`part ${k}: ${o.result.reason} at ${o.result.firstBadIndex}`);
          else if (--left === 0) resolve(outcomes);
        },
        (e: unknown) => resolve(`part ${k}: ${e instanceof Error ? e.message : String(e)}`),
      ),
    );
  });
}

const sameState = (a: RangeOutcome['state'], b: TreeState): boolean =>
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

/**
 * Verifies [0, options.end) in parts (see the module comment). `db` is the
 * caller's connection, used for the stored compact ranges at the split points.
 */
export async function verifyInParallel(db: Pick<Db, 'read'>, options: ParallelOptions): Promise<ParallelVerdict> {
  const { end, maxCheckpoint } = options;
  const bounds = [0, ...(options.splits ?? evenSplits(end, options.threads)).filter((s, i, a) => s > 0 && s < end && (i === 0 || s > (a[i - 1] as number))), end];
  const last = bounds.length - 2;
  const witness = witnessParts(options, bounds);
  if (!witness) return doubt('a witness does not open');
  let starts: TreeState[];
  try {
    starts = await db.read(async (tx) => Promise.all(bounds.slice(0, -1).map((a) => loadTreeState(nodeReader(tx), a))));
  } catch (e) {
    return doubt(`stored compact range: ${e instanceof Error ? e.message : String(e)}`);
  }
  const verifiers = options.verifiers.map((v) => ({ name: v.name, key: ed25519RawPublicKey(v.publicKey) }));
  const processed = bounds.slice(1).map(() => 0);
  const run = options.inline ? inline : inWorker;
  const runs = starts.map((start, k) =>
    run(
      {
        source: options.source,
        from: bounds[k] as number,
        to: bounds[k + 1] as number,
        checkpointsAfter: k === 0 ? -1 : (bounds[k] as number),
        checkpointsMax: k === last ? maxCheckpoint : Math.min(bounds[k + 1] as number, maxCheckpoint),
        // Part 0 starts from the empty tree, whatever the store says.
        start: k === 0 ? { size: 0, frontier: [] } : start,
        witness: witness[k] as string[],
        verifiers,
        origin: options.origin,
        pageSize: options.pageSize,
        progressEvery: 16_384,
      },
      (n) => {
        processed[k] = n;
        options.onProgress?.(processed.reduce((a, b) => a + b, 0));
      },
    ),
  );
  let outcomes: RangeOutcome[] | string;
  try {
    outcomes = await allOk(runs);
  } finally {
    await Promise.all(runs.map((r) => r.stop()));
  }
  if (typeof outcomes === 'string') return doubt(outcomes);
  return combine(outcomes, starts, bounds);
}

/** The whole-log result once every part is ok and every guessed start is the state the part before it ended with. */
function combine(outcomes: readonly RangeOutcome[], starts: readonly TreeState[], bounds: readonly number[]): ParallelVerdict {
  let checkpointCount = 0;
  let checkpointSize = 0;
  let witnessSize = 0;
  for (const [k, o] of outcomes.entries()) {
    const r = o.result;
    if (!r.ok) return doubt(`part ${k}: ${r.reason}`);
    if (r.size !== bounds[k + 1] || o.state.size !== r.size) return doubt(`part ${k} ended at ${r.size}, not ${bounds[k + 1]}`);
    const next = starts[k + 1];
    if (next && !sameState(o.state, next)) return doubt(`the stored compact range at ${next.size} is not the verified one`);
    checkpointCount += r.checkpointCount;
    checkpointSize = Math.max(checkpointSize, r.checkpointSize);
    witnessSize = Math.max(witnessSize, r.witnessSize);
  }
  const final = (outcomes.at(-1) as RangeOutcome).result as VerifyOk;
  const result: VerifyOk = { ok: true, size: final.size, root: Buffer.from(final.root), checkpointSize, checkpointCount, witnessSize };
  return { ok: true, result, parts: outcomes.length };
}
