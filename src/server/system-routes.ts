import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { Metrics } from './metrics.js';
import type { App } from './types.js';

/** RFC 9116 security.txt; Expires defaults to one year after start when not configured. */
export function securityTxt(config: Config, clock: Clock): string {
  const s = config.securityTxt;
  const expires = s.expires ?? new Date(clock.now().getTime() + 365 * 24 * 3600_000).toISOString();
  const lines = [...s.contact.map((c) => `Contact: ${c}`), `Expires: ${new Date(expires).toISOString()}`];
  if (s.policy) lines.push(`Policy: ${s.policy}`);
  if (s.preferredLanguages) lines.push(`Preferred-Languages: ${s.preferredLanguages}`);
  return `${lines.join('\n')}\n`;
}

/** Health, readiness, metrics, security.txt and the OpenAPI document: public, not rate limited. */
export function registerSystemRoutes(app: App, deps: { config: Config; db: Db; metrics: Metrics; clock: Clock }): void {
  const open = { auth: 'public' as const, rateLimit: false };
  const txt = securityTxt(deps.config, deps.clock);
  app.get('/healthz', { config: open, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: open, schema: { hide: true } }, async (_request, reply) => {
    try {
      await deps.db.ping();
      const status = await deps.db.migrationStatus();
      if (!status.current) return reply.code(503).send({ status: 'not-ready', reason: 'migrations pending', pending: status.pending });
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'not-ready', reason: 'database unreachable' });
    }
  });
  app.get('/metrics', { config: open, schema: { hide: true } }, async (_request, reply) => {
    deps.metrics.gauge('custos_db_group_commit_batches', 'SQLite group-commit batches committed').set(deps.db.stats.batches);
    deps.metrics.gauge('custos_db_group_commit_units', 'Units of work committed in group-commit batches').set(deps.db.stats.units);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.get('/.well-known/security.txt', { config: open, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send(txt),
  );
  app.get('/api/openapi.json', { config: open, schema: { hide: true } }, async () => app.swagger());
}
