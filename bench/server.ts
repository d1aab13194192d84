// A server for the HTTP benchmarks, run in its own process so the load
// generator does not share its event loop. Modes: bare | custos | custos-1tx | identity.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';
import { createCustos } from '../src/main.js';
import { ensureSelfSigned, loadTlsMaterial, tlsOptions } from '../src/server/tls.js';
import { systemContext } from '../src/shared/context.js';
import { createPerson, setupAdmin } from '../test/helpers/identity.js';

const mode = process.argv[2] ?? 'bare';
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
  await custos.app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url: `https://127.0.0.1:${(custos.app.server.address() as { port: number }).port}`, token, tenantId: tenant.id, people: JSON.stringify(people) });
  process.on('SIGTERM', () => {
    const s = custos.db.stats;
    if (s.batches) console.log(`    (group commit: ${s.units} units in ${s.batches} commits, ${(s.units / s.batches).toFixed(1)} per commit)`);
    void custos.close().then(() => process.exit(0));
  });
}
process.on('SIGTERM', () => process.exit(0));
