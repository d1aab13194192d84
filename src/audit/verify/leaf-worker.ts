/**
 * Hashes the leaves of packed entry runs in a worker thread. Reading a run
 * (synchronous on SQLite) plus folding the tree and hashing every leaf do not
 * fit in one core at the speed of a raw SHA-256 pass; with the leaves hashed
 * here, the verifier reads run k + 1 and folds run k while run k + 1 is hashed.
 * The worker computes SHA-256(0x00 ‖ event) per entry and the roots of the
 * aligned 8-leaf subtrees (7 of every 8 node hashes); every comparison and
 * every decision stays in the core verifier (log/verify.ts).
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RUN_BLOCK_LEVEL, type LogEntryRun, type RunHashes } from '../log/index.js';

/**
 * The worker's code, as a string so that it runs the same from TypeScript
 * sources, the built dist/ and under a test runner. It must compute exactly
 * log/hash.ts leafHashInPlace: the spare byte before each event becomes the
 * RFC 6962 leaf prefix 0x00; the result is the hashes as one latin1 string.
 */
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { hash } = require('node:crypto');
const node = Buffer.alloc(65);
node[0] = 1;
const nodeHash = (left, right) => {
  node.write(left, 1, 32, 'latin1');
  node.write(right, 33, 32, 'latin1');
  return hash('sha256', node, 'binary');
};
parentPort.on('message', ({ id, data, ends, first, block }) => {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const n = ends.length;
  const leaves = new Array(n);
  for (let i = 0, start = 0; i < n; start = ends[i++]) {
    bytes[start] = 0;
    leaves[i] = hash('sha256', bytes.subarray(start, ends[i]), 'binary');
  }
  // Subtrees of \${block} leaves at positions where first + position is a multiple of block.
  const blockStart = (block - (first % block)) % block;
  const roots = [];
  for (let p = blockStart; p + block <= n; p += block) {
    let level = leaves.slice(p, p + block);
    while (level.length > 1) {
      const up = [];
      for (let k = 0; k < level.length; k += 2) up.push(nodeHash(level[k], level[k + 1]));
      level = up;
    }
    roots.push(level[0]);
  }
  parentPort.postMessage({ id, leaves: leaves.join(''), blocks: roots.join(''), blockStart });
});
`;

/** Logs smaller than this are hashed in the calling thread (starting a worker costs tens of ms). */
export const WORKER_MIN_ENTRIES = 32_768;

export interface LeafHasher {
  /** The leaf hashes of every entry of `run` and its 8-leaf subtree roots (RunHashes). `run.data` may be handed over to the worker. */
  hash(run: LogEntryRun): Promise<RunHashes>;
  close(): Promise<void>;
}

type Pending = { resolve: (hashes: RunHashes) => void; reject: (e: unknown) => void };

/**
 * A second core is there and idle enough: the 1-minute load average (this
 * process's busy thread included) leaves at least half a core free. On a
 * saturated machine the worker only adds messaging and start-up (measured:
 * no faster at load 15 on 2 cores), so verification stays in one thread.
 */
function spareCore(): boolean {
  const cores = availableParallelism();
  return cores >= 2 && (loadavg()[0] ?? 0) < cores - 0.5;
}

/** A worker-backed hasher for a log of `entries` when it pays (see spareCore; Infinity: always), else undefined. */
export function startLeafHasher(entries: number): LeafHasher | undefined {
  if (entries !== Infinity && (entries < WORKER_MIN_ENTRIES || !spareCore())) return undefined;
  // Not unref()ed: the verifier awaits its answers, and close() always ends it.
  const worker = new Worker(SOURCE, { eval: true });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failure: unknown;
  const failAll = (e: unknown) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on('message', ({ id, ...hashes }: RunHashes & { id: number }) => {
    pending.get(id)?.resolve(hashes);
    pending.delete(id);
  });
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('leaf hashing worker exited')));
  return {
    hash(run) {
      if (failure !== undefined) return Promise.reject(failure);
      const id = nextId++;
      const { data } = run;
      // Hand the bytes over instead of copying them when they own their memory (large query results do).
      const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer);
      const ends = run.ends instanceof Float64Array ? run.ends : Float64Array.from(run.ends);
      const message = { id, data, ends, first: run.indexes[0] ?? 0, block: 2 ** RUN_BLOCK_LEVEL };
      return new Promise<RunHashes>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage(message, own ? [data.buffer as ArrayBuffer] : []);
      });
    },
    async close() {
      failure ??= new Error('leaf hasher closed');
      await worker.terminate();
    },
  };
}
