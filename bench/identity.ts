import { Agent, request } from 'node:https';
import * as OTPAuth from 'otpauth';
import { createPasswordHasher } from '../src/identity/index.js';
import { header, load, row, startServer, stopServer, type LoadResult } from './lib.js';

/**
 * Issue 4: logins/s (password + TOTP through the HTTPS API) and the p99 of a
 * cheap authenticated GET during a login storm beside the same GET with no
 * storm, on one server in the same run. Goal: p99 under the storm ≤ 2× quiet.
 */
interface Person {
  email: string;
  secret: string;
}

const agent = new Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 64 });

function post(base: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Logs people in (password, then TOTP) with `concurrency` clients until the
 * time is up or everyone has logged in once. The code is the next step's
 * (accepted within ±1 step): enrolment used the current one, and a step is
 * accepted once.
 */
async function storm(base: string, people: Person[], seconds: number, concurrency: number): Promise<{ logins: number; failures: number; elapsed: number }> {
  const until = Date.now() + seconds * 1000;
  const started = Date.now();
  let logins = 0;
  let failures = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const p = people.shift();
      if (!p) return;
      const first = await post(base, '/api/v1/auth/login', { email: p.email, password: 'correct horse battery staple 42' });
      const code = OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromBase32(p.secret), timestamp: Date.now() + 30_000 });
      const second = first.status === 200 ? await post(base, '/api/v1/auth/mfa/verify', { mfaToken: first.json.mfaToken, method: 'totp', code }) : first;
      if (second.status === 200) logins++;
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { logins, failures, elapsed: (Date.now() - started) / 1000 };
}

/** The ceiling: argon2id verifications per second on the same hasher (same pool limit), no HTTP, no database. */
async function verifyCeiling(seconds: number, concurrency: number): Promise<number> {
  const hasher = createPasswordHasher();
  const hash = await hasher.hash('correct horse battery staple 42');
  const until = Date.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        await hasher.verify(hash, 'correct horse battery staple 42');
        n++;
      }
    }),
  );
  return n / seconds;
}

const fmt = (r: LoadResult) => `p99 ${r.p99} ms (p50 ${r.p50}, ${r.rps.toFixed(0)} req/s, non-2xx ${r.non2xx})`;

export async function benchIdentity(seconds: number): Promise<void> {
  const concurrency = 8;
  const accounts = Number(process.env.BENCH_ACCOUNTS ?? 300);
  header(`identity — HTTPS loopback, ${concurrency} login clients, GET at 10 connections`);
  const ceiling = await verifyCeiling(Math.min(seconds, 3), concurrency);
  const s = await startServer('identity', { BENCH_ACCOUNTS: String(accounts) });
  try {
    const people = JSON.parse(s.info.people ?? '[]') as Person[];
    const half = people.splice(0, Math.floor(people.length / 2));
    const get = () => load({ url: `${s.info.url}/api/v1/tenants/${s.info.tenantId}`, headers: { authorization: `Bearer ${s.info.token}` }, seconds, connections: 10 });

    const alone = await storm(s.info.url ?? '', half, seconds, concurrency);
    const rate = alone.logins / alone.elapsed;
    console.log(row('argon2id verify/s in-process (ceiling, baseline)', ceiling.toFixed(1)));
    console.log(row(`logins/s, password + TOTP over HTTPS (${alone.logins} ok, ${alone.failures} failed)`, rate.toFixed(1), ceiling.toFixed(1), rate / ceiling));

    const quiet = await get();
    const [busy, during] = await Promise.all([get(), storm(s.info.url ?? '', people, seconds, concurrency)]);
    console.log(row('cheap authenticated GET, no storm (baseline)', `${quiet.p99} ms`));
    console.log(row(`same GET during a login storm (${(during.logins / during.elapsed).toFixed(1)} logins/s)`, `${busy.p99} ms`, `${quiet.p99} ms`, busy.p99 / Math.max(quiet.p99, 1)));
    console.log(`    quiet: ${fmt(quiet)}\n    storm: ${fmt(busy)}\n    goal: p99 under the storm ≤ 2× quiet → ${busy.p99 <= 2 * Math.max(quiet.p99, 1) ? 'met' : 'NOT met'}`);
    if (during.elapsed < seconds * 0.9) console.log(`    (the storm ran out of accounts after ${during.elapsed.toFixed(1)} s: raise BENCH_ACCOUNTS)`);
  } finally {
    await stopServer(s.child);
  }
}
