import { Type } from 'typebox';
import type { IdempotencyService } from '../idempotency/index.js';
import { errorResponses, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { KeyAdmin } from './admin.js';
import { keyErrors } from './errors.js';

const LedgerEntrySchema = Type.Object({
  id: Uuid,
  erasedAt: Type.String({ format: 'date-time' }),
  scope: Type.Union([Type.Literal('subject'), Type.Literal('tenant')]),
  tenantId: Type.String(),
  subjectId: Type.Union([Type.String(), Type.Null()]),
  keyIds: Type.Array(Type.String()),
  reason: Type.String(),
  actor: Type.String(),
  requestId: Type.String(),
});

// Status is a report, not an API contract with clients: documented loosely.
const StatusSchema = Type.Object({}, { additionalProperties: true, description: 'versions, ages, usage and dependents (see `custos keys status`)' });

const Params = Type.Object({ tenantId: Uuid }, { additionalProperties: false });

/** Key management over HTTP: crypto-shredding (`keys:manage`), status and the erasure ledger (`keys:read`). */
export function registerKeyRoutes(app: App, deps: { admin: KeyAdmin; idempotency: IdempotencyService }): void {
  const { admin, idempotency } = deps;
  app.post(
    '/api/v1/tenants/:tenantId/keys/destroy',
    {
      config: { permission: 'keys:manage' },
      schema: {
        tags: ['keys'],
        summary: "Crypto-shred a data subject's key or the tenant's KEK (irreversible)",
        params: Params,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: Type.Object(
          {
            scope: Type.Union([Type.Literal('subject'), Type.Literal('tenant')]),
            subjectId: Type.Optional(Uuid),
            reason: Type.String({ minLength: 1, maxLength: 500, description: 'why, e.g. the erasure request reference' }),
          },
          { additionalProperties: false },
        ),
        response: { 201: LedgerEntrySchema, 409: ProblemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { scope, subjectId, reason } = request.body;
      if ((scope === 'subject') !== (subjectId !== undefined)) throw keyErrors.scopeMismatch();
      const r = await idempotency.execute(request.ctx, async () => ({
        status: 201,
        body: await admin.destroy(request.ctx, { tenantId: request.params.tenantId, subjectId, reason }),
      }));
      return reply.code(r.status).header('idempotency-replayed', String(r.replayed)).send(r.body as never);
    },
  );
  app.get(
    '/api/v1/tenants/:tenantId/keys',
    {
      config: { permission: 'keys:read' },
      schema: { tags: ['keys'], summary: "The tenant's key versions and what depends on them", params: Params, response: { 200: StatusSchema, ...errorResponses } },
    },
    async (request) => admin.status(request.ctx, request.params.tenantId),
  );
  app.get(
    '/api/v1/keys/erasure-ledger',
    {
      config: { permission: 'keys:read' },
      schema: {
        tags: ['keys'],
        summary: 'Every crypto-shredding, oldest first',
        querystring: Type.Object({ tenantId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(LedgerEntrySchema) }), ...errorResponses },
      },
    },
    async (request) => ({ items: await admin.ledger(request.ctx, request.query.tenantId) }),
  );
}
