// A server for the HTTP benchmarks, run in its own process so the load
// generator does not share its event loop. Modes: bare | custos | custos-1tx | identity | vault.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';
import { TENANT_PERMISSIONS } from '../src/access/index.js';
import { createCustos, type Custos } from '../src/main.js';
import { ensureSelfSigned, loadTlsMaterial, tlsOptions } from '../src/server/tls.js';
import { systemContext } from '../src/shared/context.js';
import { createPerson, setupAdmin } from '../test/helpers/identity.js';

const mode = process.argv[2] ?? 'bare';

// `{ cpu: true }` → `{ cpuMicros }`: this process's CPU time, so a driver can report CPU per request (bench/profile.ts).
process.on('message', (m: { cpu?: boolean }) => {
  if (!m.cpu) return;
  const u = process.cpuUsage();
  process.send?.({ cpuMicros: u.user + u.system });
});

async function benchApiKey(custos: Custos, tenantId: string): Promise<string> {
  const wanted = ['records:write', 'records:read', 'collections:manage', 'collections:read', 'integrations:write', 'integrations:read'];
  const permissions = wanted.filter((p) => (TENANT_PERMISSIONS as readonly string[]).includes(p));
  const { token } = await custos.identity.createApiKey(systemContext('bench'), { tenantId, name: 'bench', permissions, purposes: ['app_functionality'] });
  return token;
}

/**
 * Seeding for bench/vault.ts: on `{ seed: { url, body, count, concurrency, token, perSubject } }` it
 * sends `count` POSTs through the whole API in this process (app.inject: routing,
 * auth, validation, encryption, audit, group commit; no TLS or sockets), `{i}` in
 * the body template replaced by the request's number and `{s}` by i / perSubject,
 * and answers `{ seeded, failed, ms }`.
 */
function serveSeeding(custos: Custos): void {
  process.on('message', (m: { seed?: { url: string; body: string; count: number; from: number; concurrency: number; token: string; perSubject: number } }) => {
    const job = m.seed;
    if (!job) return;
    const started = performance.now();
    let next = 0;
    let failed = 0;
    let firstError = '';
    const worker = async () => {
      while (next < job.count) {
        const i = job.from + next++;
        const res = await custos.app.inject({
          method: 'POST',
          url: job.url,
          headers: { authorization: `Bearer ${job.token}`, 'content-type': 'application/json' },
          payload: job.body.replaceAll('{i}', String(i)).replaceAll('{s}', String(Math.floor(i / job.perSubject))),
        });
        if (res.statusCode !== 201) {
          failed += 1;
          firstError ||= res.body.slice(0, 300);
        }
      }
    };
    void Promise.all(Array.from({ length: job.concurrency }, worker)).then(() =>
      process.send?.({ seeded: job.count - failed, failed, firstError, ms: performance.now() - started }),
    );
  });
}
/**
 * `{ backlog: true }` → `{ backlog }`: audit events not yet sequenced plus log
 * entries the SIEM has not evaluated, so bench/vault.ts can time searches
 * once the in-process workers have caught up with a seed.
 */
function serveBacklog(custos: Custos): void {
  process.on('message', (m: { backlog?: boolean }) => {
    if (!m.backlog) return;
    void custos.db
      .read(async (tx) => {
        const outbox = await tx.selectFrom('audit_outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
        const size = await tx.selectFrom('audit_entries').select((eb) => eb.fn.max('idx').as('m')).executeTakeFirst();
        const siem = await tx.selectFrom('siem_state').select('next_index').execute();
        const evaluated = Math.min(...siem.map((r) => Number(r.next_index)));
        const entries = size?.m === null || size?.m === undefined ? 0 : Number(size.m) + 1;
        return Number(outbox?.n ?? 0) + (siem.length ? Math.max(0, entries - evaluated) : 0);
      })
      .then((backlog) => process.send?.({ backlog }));
  });
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-'));
const config = loadConfig({
  env: {},
  overrides: {
    dataDir,
    logLevel: 'silent',
    'rateLimit.enabled': false,
    ...(mode === 'custos-1tx' ? { 'database.groupCommitMax': 1 } : {}),
    ...(process.env.BENCH_PG_URL ? { databaseUrl: process.env.BENCH_PG_URL } : {}),
  },
});
await ensureSelfSigned(config);
const https = tlsOptions(loadTlsMaterial(config));

if (mode === 'bare') {
  const app = Fastify({ https, logger: false });
  app.get('/bare', async () => ({ status: 'ok', id: '01890a5d-ac96-774b-bcce-b302099a8057' }));
  app.post('/bare', async (_req, reply) => reply.code(201).send({ status: 'ok' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url: `https://127.0.0.1:${(app.server.address() as { port: number }).port}` });
} else {
  const custos = await createCustos(config, { https, logger: createLogger('silent') });
  const { token } = await setupAdmin(custos);
  const tenant = await custos.tenants.create(systemContext('bench'), { slug: 'bench-read', name: 'Bench' });
  // identity mode: accounts with TOTP for a login storm (bench/identity.ts), as JSON [{ email, secret }].
  const people: Array<{ email: string; secret: string | null }> = [];
  for (let i = 0; mode === 'identity' && i < Number(process.env.BENCH_ACCOUNTS ?? 0); i += 8) {
    const batch = Array.from({ length: 8 }, (_, j) => `storm-${i + j}@example.test`);
    for (const p of await Promise.all(batch.map((email) => createPerson(custos, { email, roles: ['auditor'] }).then((c) => ({ email, secret: c.totpSecret }))))) people.push(p);
  }
  // vault mode: a tenant API key for records, collections and (until the vault lands) integrations.
  const apiKey = mode === 'vault' ? await benchApiKey(custos, tenant.id) : '';
  if (mode === 'vault') {
    serveSeeding(custos);
    serveBacklog(custos);
  }
  await custos.app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url: `https://127.0.0.1:${(custos.app.server.address() as { port: number }).port}`, token, tenantId: tenant.id, people: JSON.stringify(people), apiKey });
  process.on('SIGTERM', () => {
    const s = custos.db.stats;
    if (s.batches) console.log(`    (group commit: ${s.units} units in ${s.batches} commits, ${(s.units / s.batches).toFixed(1)} per commit)`);
    void custos.close().then(() => process.exit(0));
  });
}
process.on('SIGTERM', () => process.exit(0));
