import { Type } from 'typebox';
import type { IdempotencyService } from '../idempotency/index.js';
import { errorResponses, PageQuery, pageOf, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { IntegrationService } from './service.js';

const IntegrationSchema = Type.Object({
  id: Uuid,
  tenantId: Uuid,
  kind: Type.Union([Type.Literal('oauth'), Type.Literal('webhook')]),
  name: Type.String(),
  provider: Type.String(),
  scopes: Type.Array(Type.String()),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  subjectId: Type.Union([Uuid, Type.Null()]),
  fingerprint: Type.String({ description: 'HMAC-SHA256 of the secret under a tenant key: compare, never reverse' }),
  hasRefreshToken: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Provider = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'e.g. github, slack, stripe' });
const Secret = Type.String({ minLength: 8, maxLength: 8192 });
const common = { name: Name, provider: Provider, subjectId: Type.Optional(Uuid) };

const CreateBody = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('oauth'),
      ...common,
      accessToken: Secret,
      refreshToken: Type.Optional(Secret),
      scopes: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 }),
      expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('webhook'), ...common, secret: Secret }, { additionalProperties: false }),
]);

const TenantParams = Type.Object({ tenantId: Uuid }, { additionalProperties: false });
const ObjectParams = Type.Object({ tenantId: Uuid, integrationId: Uuid }, { additionalProperties: false });
const BASE = '/api/v1/tenants/:tenantId/integrations';

/** Integration secrets over HTTP: stored encrypted, never returned; only server-side uses (signing) decrypt them. */
export function registerIntegrationRoutes(app: App, deps: { integrations: IntegrationService; idempotency: IdempotencyService }): void {
  const { integrations, idempotency } = deps;
  app.post(
    BASE,
    {
      config: { permission: 'integrations:write' },
      schema: {
        tags: ['integrations'],
        summary: 'Store an OAuth token or a webhook secret (encrypted; never returned)',
        params: TenantParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: CreateBody,
        response: { 201: IntegrationSchema, 409: ProblemSchema, 422: ProblemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const r = await idempotency.execute(request.ctx, async () => ({
        status: 201,
        body: await integrations.create(request.ctx, request.params.tenantId, request.body),
      }));
      return reply.code(r.status).header('idempotency-replayed', String(r.replayed)).send(r.body as never);
    },
  );
  app.get(
    BASE,
    {
      config: { permission: 'integrations:read' },
      schema: {
        tags: ['integrations'],
        summary: "List the tenant's integrations (metadata only)",
        params: TenantParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: pageOf(IntegrationSchema), ...errorResponses },
      },
    },
    async (request) => integrations.list(request.ctx, request.params.tenantId, request.query),
  );
  app.get(
    `${BASE}/:integrationId`,
    {
      config: { permission: 'integrations:read', tenantObjectParam: 'integrationId' },
      schema: { tags: ['integrations'], summary: 'Get one integration (metadata only)', params: ObjectParams, response: { 200: IntegrationSchema, ...errorResponses } },
    },
    async (request) => integrations.get(request.ctx, request.params.tenantId, request.params.integrationId),
  );
  app.delete(
    `${BASE}/:integrationId`,
    {
      config: { permission: 'integrations:write', tenantObjectParam: 'integrationId' },
      schema: { tags: ['integrations'], summary: 'Delete an integration and its secrets', params: ObjectParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      await integrations.remove(request.ctx, request.params.tenantId, request.params.integrationId);
      return reply.code(204).send(null);
    },
  );
  app.post(
    `${BASE}/:integrationId/sign`,
    {
      config: { permission: 'integrations:use', tenantObjectParam: 'integrationId' },
      schema: {
        tags: ['integrations'],
        summary: "Sign a payload with the integration's webhook secret (server-side; the secret never leaves)",
        params: ObjectParams,
        body: Type.Object(
          {
            payload: Type.String({ maxLength: 65_536 }),
            timestamp: Type.Optional(Type.Integer({ minimum: 0, maximum: 253_402_300_799, description: 'Unix seconds; default now' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ algorithm: Type.Literal('hmac-sha256'), timestamp: Type.Integer(), signature: Type.String(), header: Type.String() }),
          409: ProblemSchema,
          410: ProblemSchema,
          ...errorResponses,
        },
      },
    },
    async (request) =>
      integrations.sign(request.ctx, request.params.tenantId, request.params.integrationId, request.body.payload, request.body.timestamp),
  );
}
