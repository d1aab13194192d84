// The floor of `custos audit verify` on SQLite: what verifying a stored log
// cannot avoid, with nothing else. Every entry read with the verifier's own
// packed aggregate query (SQLITE_ENTRY_RUN: indexes, event bytes, stored leaf
// hashes) per page of 2000, one leaf hash per event and a node hash per entry (n - 1 in all: each
// page's subtree, then the pages'), on as many threads as verify uses,
// started before the clock starts, each on its own read-only connection,
// taking pages from a shared counter (the best balance there is). No stored
// leaf hash compared, no index checked, no checkpoint opened. bench/audit.ts
// prints it beside verify and the raw SHA-256 baseline, in the same rounds.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The child script (plain node, no loader: worker threads load it again as their entry). */
const FLOOR_CHILD = `
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { hash } from 'node:crypto';
const spec = isMainThread ? JSON.parse(process.env.CUSTOS_BENCH_FLOOR) : workerData;
const { default: BetterSqlite3 } = await import(spec.sqlite);
const PAGE = 2000;

function pages(counter) {
  const db = new BetterSqlite3(spec.file, { readonly: true, fileMustExist: true });
  db.pragma('mmap_size = 1073741824');
  const read = db.prepare(spec.read);
  const node = Buffer.alloc(65);
  node[0] = 1;
  const roots = [];
  let leaves = 0;
  for (let k = Atomics.add(counter, 0, 1); k * PAGE < spec.n; k = Atomics.add(counter, 0, 1)) {
    const { lens, data } = read.get(k * PAGE, Math.min(spec.n, (k + 1) * PAGE));
    const stack = [];
    let count = 0;
    let start = 0;
    for (const len of lens.split(',')) {
      const end = start + 1 + Number(len);
      data[start] = 0;
      let h = hash('sha256', new Uint8Array(data.buffer, data.byteOffset + start, end - start), 'binary');
      start = end;
      leaves++;
      for (let c = count++; c & 1; c >>= 1) {
        node.write(stack.pop() + h, 1, 64, 'ascii');
        h = hash('sha256', node, 'binary');
      }
      stack.push(h);
    }
    while (stack.length > 1) {
      const right = stack.pop();
      node.write(stack.pop() + right, 1, 64, 'ascii');
      stack.push(hash('sha256', node, 'binary'));
    }
    roots[k] = stack[0];
  }
  db.close();
  return { roots, leaves };
}

if (!isMainThread) {
  parentPort.once('message', (counter) => parentPort.postMessage(pages(counter)));
  parentPort.postMessage('ready');
} else {
  const workers = await Promise.all(
    Array.from({ length: spec.threads - 1 }, () => new Promise((resolve) => {
      const w = new Worker(new URL(import.meta.url), { workerData: spec });
      w.once('message', () => resolve(w));
    })),
  );
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const done = workers.map((w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage(counter); }));
  const results = [pages(counter), ...(await Promise.all(done))];
  if (results.reduce((sum, r) => sum + r.leaves, 0) !== spec.n) throw new Error('the floor did not hash every entry');
  // The pages' roots into one (a few hundred more node hashes).
  const all = results.reduce((acc, r) => (r.roots.forEach((h, k) => h !== undefined && (acc[k] = h)), acc), []);
  const node = Buffer.alloc(65);
  node[0] = 1;
  let top = all;
  while (top.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < top.length; i += 2) { node.write(top[i] + top[i + 1], 1, 64, 'ascii'); next.push(hash('sha256', node, 'binary')); }
    if (top.length % 2) next.push(top.at(-1));
    top = next;
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  await Promise.all(workers.map((w) => w.terminate()));
  console.log(JSON.stringify({ wall, cpu: (c.user + c.system) / spec.n, threads: spec.threads }));
}
`;

/** One measured process: wall seconds, CPU µs per entry (all threads), threads used (verify and floor runs alike). */
export interface ProcessRun {
  readonly wall: number;
  readonly cpu: number;
  readonly threads: number;
}

/** The better of two runs, figure by figure (the best-of-rounds the bench prints). */
export const bestOf = (a: ProcessRun, b: ProcessRun): ProcessRun => ({ wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu), threads: b.threads });

/** Writes the child script into `dir`; each run() is one cold child process over the first `n` entries of `file`, read with the query `read`. */
export function verifyFloor(dir: string, file: string, n: number, read: string): (threads: number) => ProcessRun {
  const script = path.join(dir, 'verify-floor-child.mjs');
  writeFileSync(script, FLOOR_CHILD);
  const sqlite = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;
  return (threads) => {
    const env = { ...process.env, CUSTOS_BENCH_FLOOR: JSON.stringify({ file, n, threads, sqlite, read }) };
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', env });
    if (child.status !== 0) throw new Error(`verify floor child: ${child.stderr}`);
    return JSON.parse(child.stdout) as ProcessRun;
  };
}
