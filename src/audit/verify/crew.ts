/**
 * The worker threads of a parallel verification (parallel.ts), started
 * before they are needed: a worker costs ~0.1-0.2 s to boot (a Node
 * isolate, its modules, a read-only connection), so the CLI starts them
 * while it opens the keyring and the database, and verifyInParallel starts
 * its own before it reads the stored compact ranges. Each worker opens its
 * connection at once, then waits for one job (range.ts) and takes parts of it.
 * An idle crew does not keep the process alive; close() ends it either way.
 */
import { Worker } from 'node:worker_threads';
import type { ReadOnlySource } from '../../db/dialects/audit-reader.js';
import type { Job, PartReport } from './range.js';

/** What a worker posts: a part's report, the end of its job, or what went wrong. */
export type WorkerMessage = PartReport | { readonly kind: 'finished' } | { readonly kind: 'error'; readonly message: string };

/** Workers waiting for a job. */
export interface VerifyCrew {
  /** What its workers read: a crew verifies only the database it was started for. */
  readonly source: ReadOnlySource;
  /** Workers started (each takes parts beside the calling thread). */
  readonly size: number;
  /**
   * Hands every worker `job`; each promise resolves once that worker took
   * its last part, with undefined, or with what went wrong. Once per crew.
   */
  run(job: Job, onReport: (report: PartReport) => void): Array<Promise<string | undefined>>;
  /** Ends every worker (idempotent). */
  close(): Promise<void>;
}

/**
 * The built crew-worker.js next to this file, or, when this runs from
 * TypeScript sources (tests, under tsx), crew-worker.ts loaded through tsx,
 * which a worker does not inherit.
 */
function startWorker(source: ReadOnlySource): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./crew-worker.js', import.meta.url), { workerData: source });
  const url = JSON.stringify(new URL('./crew-worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${url}); })`, { eval: true, workerData: source });
}

/** A started worker and how it ended, if it ended: listened for from the start, so an early end is never missed. */
interface Hand {
  readonly worker: Worker;
  readonly ended: Promise<string>;
}

function hire(source: ReadOnlySource): Hand {
  const worker = startWorker(source);
  // Idle, it must not hold the process open (a caller that ends without closing it still exits).
  worker.unref();
  const ended = new Promise<string>((resolve) => {
    worker.once('error', (e) => resolve(`worker: ${e.message}`));
    worker.once('exit', (code) => resolve(`worker exited (${code})`));
  });
  return { worker, ended };
}

/** Resolves once the worker finished its job, with undefined, or with what went wrong (it failed or ended first). */
function workerDone({ worker, ended }: Hand, onReport: (r: PartReport) => void): Promise<string | undefined> {
  const finished = new Promise<string | undefined>((resolve) => {
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'finished') resolve(undefined);
      else if (m.kind === 'error') resolve(`worker: ${m.message}`);
      else onReport(m);
    });
  });
  return Promise.race([finished, ended]);
}

/** Starts `count` workers reading `source` (none when count < 1). */
export function startVerifyCrew(source: ReadOnlySource, count: number): VerifyCrew {
  const hands = Array.from({ length: Math.max(0, Math.floor(count)) }, () => hire(source));
  let used = false;
  let closed: Promise<void> | undefined;
  return {
    source,
    size: hands.length,
    run(job, onReport) {
      if (used) throw new Error('a verify crew runs one job');
      used = true;
      return hands.map((hand) => {
        const done = workerDone(hand, onReport);
        hand.worker.ref();
        hand.worker.postMessage(job);
        return done;
      });
    },
    close() {
      closed ??= Promise.all(hands.map((h) => h.worker.terminate())).then(() => undefined);
      return closed;
    },
  };
}
