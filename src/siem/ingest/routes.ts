import { Type } from 'typebox';
import { errorResponses, ProblemSchema } from '../../server/schemas.js';
import type { App } from '../../server/types.js';
import { MAX_BATCH, MAX_BODY_BYTES } from './limits.js';
import type { IngestService } from './service.js';

const ItemResult = Type.Union([
  Type.Object({ index: Type.Integer(), status: Type.Literal('accepted'), eventId: Type.String({ description: 'the audit event id (metadata.uid)' }) }),
  Type.Object({
    index: Type.Integer(),
    status: Type.Literal('rejected'),
    code: Type.String({ description: 'EVENT_* code (docs/errors.md)' }),
    detail: Type.String(),
  }),
]);
const Result = Type.Object({ accepted: Type.Integer(), rejected: Type.Integer(), items: Type.Array(ItemResult) });

/** External security events (firewall, VPN, cloud) into the audit log, and so to the SIEM. */
export function registerIngestRoutes(app: App, deps: { ingest: IngestService }): void {
  app.post(
    '/api/v1/events',
    {
      bodyLimit: MAX_BODY_BYTES,
      config: { permission: 'events:ingest', tenantPermission: 'events:ingest' },
      schema: {
        tags: ['siem'],
        summary: 'Ingest a batch of external events (OCSF JSON or ECS JSON, detected per event)',
        description:
          `Each event is validated on its own. 200: all accepted. 207: some (or all) were rejected — each rejected item names its index, ` +
          `code and reason; the others are recorded anyway. Accepted events enter the audit log under the caller's tenant ` +
          `(an API key's tenant; platform staff: platform events) as action \`external.event\`. At most ${MAX_BATCH} events per request, ` +
          `60 KiB each; times within 30 days back and 15 minutes ahead. Idempotency-Key replays the first answer.`,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH }),
        response: { 200: Result, 207: Result, 413: ProblemSchema, 422: ProblemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const r = await deps.ingest.ingestBatch(request.ctx, request.body);
      return reply.code(r.status).header('idempotency-replayed', String(r.replayed)).send(r.body);
    },
  );
}
