import { Type } from 'typebox';
import type { IdempotencyService } from '../idempotency/index.js';
import { errorResponses, PageQuery, pageOf, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { TenantService } from './service.js';

const TenantState = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('closed'), Type.Literal('purged')]);

const TenantSchema = Type.Object({
  id: Uuid,
  slug: Type.String(),
  name: Type.String(),
  state: TenantState,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  stateChangedAt: Type.String({ format: 'date-time' }),
});

const Slug = Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$', description: 'lower-case letters, digits and dashes' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Params = Type.Object({ tenantId: Uuid }, { additionalProperties: false });

export function registerTenantRoutes(app: App, deps: { tenants: TenantService; idempotency: IdempotencyService }): void {
  const { tenants, idempotency } = deps;
  app.post(
    '/api/v1/tenants',
    {
      config: { permission: 'tenants:create' },
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: Type.Object({ slug: Slug, name: Name }, { additionalProperties: false }),
        response: { 201: TenantSchema, 409: ProblemSchema, 422: ProblemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const r = await idempotency.execute(request.ctx, async () => ({ status: 201, body: await tenants.create(request.ctx, request.body) }));
      return reply.code(r.status).header('idempotency-replayed', String(r.replayed)).send(r.body as never);
    },
  );
  app.get(
    '/api/v1/tenants',
    {
      config: { permission: 'tenants:read' },
      schema: {
        tags: ['tenants'],
        summary: 'List tenants',
        querystring: Type.Object({ ...PageQuery, state: Type.Optional(TenantState) }, { additionalProperties: false }),
        response: { 200: pageOf(TenantSchema), ...errorResponses },
      },
    },
    async (request) => tenants.list(request.ctx, request.query),
  );
  app.get(
    '/api/v1/tenants/:tenantId',
    {
      config: { permission: 'tenants:read' },
      schema: { tags: ['tenants'], summary: 'Get a tenant', params: Params, response: { 200: TenantSchema, ...errorResponses } },
    },
    async (request) => tenants.get(request.ctx, request.params.tenantId),
  );
  app.patch(
    '/api/v1/tenants/:tenantId',
    {
      config: { permission: 'tenants:update' },
      schema: {
        tags: ['tenants'],
        summary: 'Rename a tenant or change its state',
        params: Params,
        body: Type.Object(
          { name: Type.Optional(Name), state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('closed')])) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: TenantSchema, 409: ProblemSchema, ...errorResponses },
      },
    },
    async (request) => tenants.update(request.ctx, request.params.tenantId, request.body),
  );
}
