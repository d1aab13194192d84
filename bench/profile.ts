// `node --import tsx bench/profile.ts <what> [--seconds N] [--connections N] [--prof]`
// A yardstick for optimisation work, not a benchmark with a baseline: it drives
// one kind of request at a server (bench/server.ts) and prints requests/s and
// the server's CPU time per request (process.cpuUsage over the load window,
// which is far less sensitive to other load on the machine than requests/s).
// With --prof the server runs under --cpu-prof and the window's samples are
// attributed to the first Custos source file on each stack (else the package).
// what: vault-new | vault-existing | vault-read | bare-post | bare-get
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { serverCpu, startServer, stopServer } from './lib.js';
import { COLLECTION_BODY, recordBody } from './vault.js';

const args = process.argv.slice(2);
const what = args[0] ?? 'vault-new';
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = opt('--seconds', 6);
const connections = opt('--connections', 50);
const profDir = args.includes('--prof') ? mkdtempSync(path.join(os.tmpdir(), 'custos-prof-')) : undefined;

const COLLECTION = COLLECTION_BODY;
const record = (i: number, s: number) => recordBody(i, s);

interface Req {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

async function run(url: string, headers: Record<string, string>, next: () => Req, secs: number, ids?: string[]) {
  const r = await autocannon({
    url,
    connections,
    duration: secs,
    headers,
    tlsOptions: { rejectUnauthorized: false },
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => ({ ...req, ...next() }),
        onResponse: (status: number, body: string) => {
          if (status === 201 && ids && ids.length < 20_000) ids.push((JSON.parse(body) as { id: string }).id);
        },
      },
    ],
  } as unknown as autocannon.Options);
  return { requests: r.requests.total, rps: r.requests.average, p50: r.latency.p50, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

/** Samples between two hrtime marks (µs, the clock V8 profiles use), self time attributed to the first src/ frame up the stack. */
function attribute(file: string, fromUs: number, toUs: number): void {
  type Node = { id: number; callFrame: { functionName: string; url: string }; children?: number[] };
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const hit = owner.get(id);
    if (hit) return hit;
    const leaf = byId.get(id)!;
    let label = leaf.callFrame.url ? leaf.callFrame.url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1').replace(/^node:.*$/, 'node internals') : leaf.callFrame.functionName;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const m = /\/(src\/[^:]+)$/.exec(byId.get(cur)!.callFrame.url);
      if (m) {
        label = `${m[1]} (${label.startsWith('src/') ? 'self' : label})`;
        break;
      }
    }
    owner.set(id, label);
    return label;
  };
  const acc = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const d = p.timeDeltas[i] ?? 0;
    total += d;
    const k = ownerOf(p.samples[i]!);
    acc.set(k, (acc.get(k) ?? 0) + d);
  }
  console.log(`profile of the window: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [k, v] of [...acc].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${(v / 1000).toFixed(0).padStart(6)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

const bare = what.startsWith('bare');
const s = await startServer(bare ? 'bare' : 'vault', {}, profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []);
const { url, apiKey, tenantId } = s.info as { url: string; apiKey: string; tenantId: string };
const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
const records = `/api/v1/tenants/${tenantId}/collections/customers/records`;
let n = 0;
const ids: string[] = [];
let next: () => Req;
if (bare) {
  next = what === 'bare-post' ? () => ({ method: 'POST', path: '/bare', body: record(0, 0) }) : () => ({ method: 'GET', path: '/bare' });
} else {
  await run(url, headers, () => ({ method: 'POST', path: `/api/v1/tenants/${tenantId}/collections`, body: JSON.stringify(COLLECTION) }), 0.2);
  const create = (existing: boolean) => (): Req => {
    const i = n++;
    return { method: 'POST', path: records, body: record(i, existing ? i % 50 : i) };
  };
  // Warm-up (JIT, caches) with the same kind of request; reads need ids to read.
  await run(url, headers, create(what === 'vault-existing'), 2, ids);
  next = what === 'vault-read' ? () => ({ method: 'GET', path: `${records}/${ids[n++ % ids.length]}?reason=app_functionality` }) : create(what === 'vault-existing');
}
const hr0 = Number(process.hrtime.bigint() / 1000n);
const cpu0 = await serverCpu(s.child);
const r = await run(url, headers, next, seconds);
const cpu1 = await serverCpu(s.child);
const hr1 = Number(process.hrtime.bigint() / 1000n);
await stopServer(s.child);
console.log(
  `${what}: ${r.rps.toFixed(0)} req/s, server CPU ${((cpu1 - cpu0) / r.requests).toFixed(0)} µs/request (${r.requests} requests, p50 ${r.p50} ms, non-2xx ${r.non2xx}, errors ${r.errors}, load ${os.loadavg()[0]!.toFixed(1)})`,
);
if (profDir) {
  const file = readdirSync(profDir).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)); // the main thread's
  if (file) attribute(path.join(profDir, file), hr0, hr1);
  rmSync(profDir, { recursive: true, force: true });
}
