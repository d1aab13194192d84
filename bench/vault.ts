import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import BetterSqlite3 from 'better-sqlite3';
import { ask, header, load, row, serverCpu, startServer, stopServer, type LoadResult } from './lib.js';
import { createFloor } from './vault-floor.js';

/** Issue 6: record create, read and equality search through the HTTPS API, beside a bare route and raw SQLite. */
const RECORDS = Number(process.env.BENCH_VAULT_RECORDS ?? 100_000);
const COLLECTION = 'customers';
const load1 = () => `load ${os.loadavg()[0]!.toFixed(1)}`;
const ms = (r: LoadResult) => `p50 ${r.p50} ms, p99 ${r.p99} ms`;

/** A customers collection: each created record is a new data subject (a new DEK), as at sign-up. */
export const COLLECTION_BODY = {
  name: COLLECTION,
  subjectField: 'customer',
  retentionDays: 365,
  fields: {
    customer: { type: 'string', personal: true, category: 'user.unique_id', required: true, purposes: ['app_functionality', 'support'] },
    email: { type: 'email', personal: true, category: 'user.contact.email', required: true, unique: true, purposes: ['app_functionality', 'support'] },
    name: { type: 'string', personal: true, category: 'user.name', purposes: ['app_functionality'] },
    phone: { type: 'phone', personal: true, category: 'user.contact.phone_number', region: 'DE', purposes: ['app_functionality'] },
    plan: { type: 'string' },
  },
};
export const recordBody = (i: number | string, customer: number | string = i) =>
  JSON.stringify({ fields: { customer: `cust-${customer}`, email: `Bench-${i}@Example.test`, name: `Person ${i}`, phone: '030 1234567', plan: 'pro' } });
/** Seeded records share a subject in groups of this many (one DEK per group), which makes 100k seedable in minutes. */
const SEED_PER_SUBJECT = 20;

/** What the run measures through: the vault's records when its routes are there, else an integration (encrypted, audited). */
interface Target {
  kind: 'vault' | 'integrations';
  createPath: string;
  createBody: (i: number | string) => string;
  readPath: (id: string) => string;
  searchPath?: string;
}

/** One request (the bench certificate is self-signed, so autocannon rather than fetch). */
async function api(base: string, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  let status = 0;
  let text = '{}';
  await autocannon({
    url: `${base}${url}`,
    amount: 1,
    connections: 1,
    method: method as 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    tlsOptions: { rejectUnauthorized: false },
    requests: [{ onResponse: (s: number, b: string) => void ((status = s), (text = b)) }],
  } as autocannon.Options);
  return { status, json: JSON.parse(text || '{}') as Record<string, unknown> };
}

async function chooseTarget(base: string, token: string, tenantId: string): Promise<Target> {
  const t = `/api/v1/tenants/${tenantId}`;
  const probe = await api(base, token, 'POST', `${t}/collections`, COLLECTION_BODY);
  if (probe.status === 201) {
    const records = `${t}/collections/${COLLECTION}/records`;
    return { kind: 'vault', createPath: records, createBody: recordBody, readPath: (id) => `${records}/${id}?reason=app_functionality`, searchPath: `${records}/search` };
  }
  if (probe.status !== 404 || probe.json.code !== 'ROUTE_NOT_FOUND') throw new Error(`bench: creating the collection answered ${probe.status} ${JSON.stringify(probe.json)}`);
  return {
    kind: 'integrations',
    createPath: `${t}/integrations`,
    createBody: (i) => JSON.stringify({ kind: 'webhook', name: `hook ${i}`, provider: 'bench', secret: `whsec-${i}-0123456789abcdef` }),
    readPath: (id) => `${t}/integrations/${id}`,
  };
}

/** Autocannon with per-request paths/bodies and the created ids collected (at most 20 000). */
async function drive(opts: { url: string; token: string; seconds: number; connections?: number; method: 'GET' | 'POST'; path: () => string; body?: () => string; ids?: string[] }): Promise<LoadResult> {
  const options: autocannon.Options = {
    url: opts.url,
    connections: opts.connections ?? 50,
    duration: opts.seconds,
    tlsOptions: { rejectUnauthorized: false },
    headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
    requests: [
      {
        method: opts.method,
        setupRequest: (req) => ({ ...req, path: opts.path(), body: opts.body?.() }),
        onResponse: (status, body) => {
          if (status === 201 && opts.ids && opts.ids.length < 20_000) opts.ids.push((JSON.parse(body) as { id: string }).id);
        },
      },
    ],
  };
  const r = await autocannon(options);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

function seed(child: ChildProcess, job: { url: string; body: string; count: number; from: number; token: string; perSubject: number }) {
  return ask<{ seeded: number; failed: number; firstError: string; ms: number }>(child, { seed: { ...job, concurrency: 64 } }, 'seeded');
}

/** Audit events not yet sequenced plus entries the SIEM has not evaluated (bench/server.ts serveBacklog). */
async function backlog(child: ChildProcess): Promise<number> {
  return (await ask<{ backlog: number }>(child, { backlog: true }, 'backlog')).backlog;
}

/** Raw better-sqlite3, same durability (WAL, synchronous=FULL): a record row, its blind-index row and an outbox row per create. */
function rawSqlite(seconds: number): { perCommit: number; batched: number; lookup: { p50: number; p99: number; rows: number } } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-raw-'));
  const db = new BetterSqlite3(path.join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE records (tenant_id TEXT, id TEXT, collection_id TEXT, subject_id TEXT, version INTEGER, sealed TEXT, plain TEXT, created_at TEXT, updated_at TEXT, PRIMARY KEY (tenant_id, id));
    CREATE TABLE record_index (tenant_id TEXT, collection_id TEXT, field TEXT, hmac TEXT, slot TEXT, record_id TEXT, subject_id TEXT, PRIMARY KEY (tenant_id, collection_id, field, hmac, slot));
    CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, recorded_at TEXT, tenant_id TEXT, event TEXT)`);
  const insRecord = db.prepare('INSERT INTO records VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)');
  const insIndex = db.prepare("INSERT INTO record_index VALUES (?, 'c', 'email', ?, '', ?, ?)");
  const insOutbox = db.prepare('INSERT INTO outbox (event_id, recorded_at, tenant_id, event) VALUES (?, ?, ?, ?)');
  const sealed = randomBytes(360).toString('base64');
  const event = JSON.stringify({ action: 'vault.record.create', details: { fields: ['email', 'name', 'phone', 'plan'] }, pad: randomBytes(200).toString('base64') });
  let n = 0;
  const one = () => {
    const id = `r${n++}`;
    const now = new Date().toISOString();
    insRecord.run('t', id, 'c', `s${n}`, sealed, '{"plan":"pro"}', now, now);
    insIndex.run('t', randomBytes(32).toString('base64url'), id, `s${n}`);
    insOutbox.run(id, now, 't', event);
  };
  const timed = (perTx: number) => {
    const tx = db.transaction((k: number) => {
      for (let i = 0; i < k; i++) one();
    });
    const start = performance.now();
    let done = 0;
    while (performance.now() - start < seconds * 1000) {
      tx(perTx);
      done += perTx;
    }
    return done / ((performance.now() - start) / 1000);
  };
  const perCommit = timed(1);
  const batched = timed(50);
  const fill = db.transaction(() => {
    while (n < RECORDS) one();
  });
  fill();
  const hmacs = (db.prepare('SELECT hmac FROM record_index ORDER BY random() LIMIT 2000').all() as Array<{ hmac: string }>).map((r) => r.hmac);
  const find = db.prepare("SELECT r.* FROM record_index i JOIN records r ON r.tenant_id = i.tenant_id AND r.id = i.record_id WHERE i.tenant_id = 't' AND i.collection_id = 'c' AND i.field = 'email' AND i.hmac = ?");
  const times = hmacs.map((h) => {
    const s = performance.now();
    find.all(h);
    return performance.now() - s;
  }).sort((a, b) => a - b);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { perCommit, batched, lookup: { p50: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]!, rows: n } };
}

export async function benchVault(seconds: number): Promise<void> {
  header(`vault — HTTPS, 50 connections, loopback (requests/s; ${os.cpus().length} cores)`);
  const bare = await startServer('bare');
  const bareGet = await load({ url: `${bare.info.url}/bare`, seconds });
  const bareCpu0 = await serverCpu(bare.child);
  const barePost = await load({ url: `${bare.info.url}/bare`, method: 'POST', headers: { 'content-type': 'application/json' }, body: () => recordBody(0), seconds });
  const bareCpu = (await serverCpu(bare.child)) - bareCpu0;
  const bareOne = await load({ url: `${bare.info.url}/bare`, seconds, connections: 1 });
  await stopServer(bare.child);
  console.log(row(`bare POST (baseline, ${load1()}; server CPU ${(bareCpu / (barePost.rps * seconds)).toFixed(0)} µs/request)`, barePost.rps.toFixed(0)));
  console.log(row(`bare GET (baseline, ${load1()})`, bareGet.rps.toFixed(0)));
  const raw = rawSqlite(Math.min(seconds, 3));
  console.log(row(`raw SQLite create rows, one commit each (baseline, ${load1()})`, raw.perCommit.toFixed(0)));
  console.log(row(`raw SQLite create rows, 50 per commit (baseline)`, raw.batched.toFixed(0)));
  const floor = createFloor(Math.min(seconds, 3));
  // One thread doing a bare POST's HTTP work and the floor's work per request: the most a one-process server could answer.
  const ceiling = 1 / (1 / barePost.rps + 1 / floor);
  console.log(row(`floor: a create's inherent work, no HTTP (crypto + rows, see vault-floor.ts)`, floor.toFixed(0)));
  console.log(row(`  … with a bare POST's HTTP work in the same thread (ceiling)`, ceiling.toFixed(0), barePost.rps.toFixed(0), ceiling / barePost.rps));

  const s = await startServer('vault');
  try {
    const { url, apiKey, tenantId } = s.info as { url: string; apiKey: string; tenantId: string };
    const target = await chooseTarget(url, apiKey, tenantId);
    if (target.kind !== 'vault') console.log('  (vault routes not present: create and read measured on integrations; no search)');
    let n = 0;
    const ids: string[] = [];
    const createCpu0 = await serverCpu(s.child);
    const create = await drive({ url, token: apiKey, seconds, method: 'POST', path: () => target.createPath, body: () => target.createBody(`c${n++}`), ids });
    const createCpu = ((await serverCpu(s.child)) - createCpu0) / (create.rps * seconds);
    const what = target.kind === 'vault' ? 'record create (sealed, blind-indexed, audited)' : 'integration create (sealed, audited)';
    console.log(row(`${what}, API key (${ms(create)}, non-2xx ${create.non2xx}, ${load1()})`, create.rps.toFixed(0), barePost.rps.toFixed(0), create.rps / barePost.rps));
    console.log(row(`  … server CPU per create (µs; bare POST beside it)`, createCpu.toFixed(0), (bareCpu / (barePost.rps * seconds)).toFixed(0)));
    console.log(row(`  … beside the ceiling (floor + bare HTTP work, one thread)`, create.rps.toFixed(0), ceiling.toFixed(0), create.rps / ceiling));
    console.log(row(`  … beside raw SQLite, one commit per create`, create.rps.toFixed(0), raw.perCommit.toFixed(0), create.rps / raw.perCommit));
    let k = 0;
    const read = await drive({ url, token: apiKey, seconds, method: 'GET', path: () => target.readPath(ids[k++ % ids.length] ?? 'none') });
    const readWhat = target.kind === 'vault' ? 'record read by id with a reason (audited)' : 'integration read by id';
    console.log(row(`${readWhat} (${ms(read)}, non-2xx ${read.non2xx}, ${load1()})`, read.rps.toFixed(0), bareGet.rps.toFixed(0), read.rps / bareGet.rps));
    if (target.searchPath) await searchAt100k(s.child, { url, apiKey, target, searchPath: target.searchPath, seconds, bareOne, raw: raw.lookup });
  } finally {
    await stopServer(s.child);
  }
}

async function searchAt100k(
  child: ChildProcess,
  o: { url: string; apiKey: string; target: Target; searchPath: string; seconds: number; bareOne: LoadResult; raw: { p50: number; p99: number; rows: number } },
): Promise<void> {
  const seeded = await seed(child, { url: o.target.createPath, body: recordBody('{i}', '{s}'), count: RECORDS, from: 0, token: o.apiKey, perSubject: SEED_PER_SUBJECT });
  if (seeded.failed) console.log(`  (seeding: ${seeded.failed} failed, first: ${seeded.firstError})`);
  console.log(row(`seeded ${seeded.seeded} records (${SEED_PER_SUBJECT} per subject) via app.inject, 64 at a time (records/s)`, (seeded.seeded / (seeded.ms / 1000)).toFixed(0)));
  // The seed wrote two audit events per record: time searches only once the in-process sequencer and SIEM caught up.
  const drainStart = performance.now();
  for (let left = await backlog(child); left > 0; left = await backlog(child)) await new Promise((r) => setTimeout(r, 500));
  console.log(`  (waited ${((performance.now() - drainStart) / 1000).toFixed(0)} s for the audit sequencer and SIEM to catch up with the seed)`);
  const search = (connections: number) =>
    drive({
      url: o.url,
      token: o.apiKey,
      seconds: o.seconds,
      connections,
      method: 'POST',
      path: () => o.searchPath,
      body: () => JSON.stringify({ where: { email: `bench-${Math.floor(Math.random() * RECORDS)}@example.test` }, reason: 'app_functionality' }),
    });
  const one = await search(1);
  console.log(row(`equality search at ${seeded.seeded} records, 1 connection, p50 (${load1()})`, `${one.p50} ms`, `${o.bareOne.p50} ms`));
  console.log(row(`equality search, 1 connection, p99 (non-2xx ${one.non2xx})`, `${one.p99} ms`, `${o.bareOne.p99} ms`));
  console.log(row(`  … raw SQLite indexed lookup at ${o.raw.rows} rows, p50 / p99`, `${o.raw.p50.toFixed(3)} ms`, `${o.raw.p99.toFixed(3)} ms`));
  const many = await search(50);
  console.log(row(`equality search, 50 connections (${ms(many)}, non-2xx ${many.non2xx}, ${load1()})`, many.rps.toFixed(0)));
}
