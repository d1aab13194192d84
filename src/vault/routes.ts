import { Type } from 'typebox';
import type { IdempotencyService } from '../idempotency/index.js';
import { errorResponses, PageQuery, pageOf, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import { registerFileRoutes } from './routes-files.js';
import { registerRecordRoutes } from './routes-records.js';
import { CollectionName, CollectionParams, lit, Purpose, TenantParams } from './route-schemas.js';
import type { VaultService } from './service.js';
import { FIELD_TYPES } from './types.js';

const FieldDefSchema = Type.Object(
  {
    type: lit(FIELD_TYPES),
    personal: Type.Optional(Type.Boolean({ description: 'personal data: sealed under the data subject key, read only for a declared purpose' })),
    category: Type.Optional(Type.String({ maxLength: 200, description: 'Fides-style data category, e.g. user.contact.email' })),
    required: Type.Optional(Type.Boolean()),
    unique: Type.Optional(Type.Boolean({ description: 'refuses a second record with the same normalised value (implies searchable)' })),
    searchable: Type.Optional(Type.Boolean({ description: 'equality search through an HMAC blind index' })),
    purposes: Type.Optional(Type.Array(Purpose, { maxItems: 10 })),
    region: Type.Optional(Type.String({ minLength: 2, maxLength: 2, description: 'phones: default region, e.g. DE' })),
    maxLength: Type.Optional(Type.Integer({ minimum: 1 })),
    maxBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const SchemaBody = {
  fields: Type.Record(Type.String({ maxLength: 63 }), FieldDefSchema, { maxProperties: 100 }),
  subjectField: Type.String({ maxLength: 63, description: 'the field naming the data subject (personal, required)' }),
  retentionDays: Type.Integer({ minimum: 1, maximum: 36_500, description: 'declared retention period' }),
};

const CollectionSchema = Type.Object({
  id: Uuid,
  tenantId: Uuid,
  name: Type.String(),
  version: Type.Integer(),
  ...SchemaBody,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const VersionSchema = Type.Object({ version: Type.Integer(), createdAt: Type.String({ format: 'date-time' }), createdBy: Type.String(), ...SchemaBody });

const BASE = '/api/v1/tenants/:tenantId/collections';

/** Collections (schemas) and, through routes-records.ts, their records, files and the subject view. */
export async function registerVaultRoutes(app: App, deps: { vault: VaultService; idempotency: IdempotencyService }): Promise<void> {
  const { vault, idempotency } = deps;
  const tags = ['vault'];
  app.post(
    BASE,
    {
      config: { permission: 'collections:manage' },
      schema: {
        tags,
        summary: 'Create a collection: fields (type, personal, category, purposes, unique, searchable), subject field, retention',
        params: TenantParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: Type.Object({ name: CollectionName, ...SchemaBody }, { additionalProperties: false }),
        response: { 201: CollectionSchema, 409: ProblemSchema, 422: ProblemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, ...schema } = request.body;
      const r = await idempotency.execute(request.ctx, async () => ({ status: 201, body: await vault.createCollection(request.ctx, request.params.tenantId, name, schema) }));
      return reply.code(r.status).header('idempotency-replayed', String(r.replayed)).send(r.body as never);
    },
  );
  app.get(
    BASE,
    {
      config: { permission: 'collections:read' },
      schema: { tags, summary: "List the tenant's collections", params: TenantParams, querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: pageOf(CollectionSchema), ...errorResponses } },
    },
    async (request) => vault.listCollections(request.ctx, request.params.tenantId, request.query),
  );
  app.get(
    `${BASE}/:name`,
    { config: { permission: 'collections:read', tenantObjectParam: 'name' }, schema: { tags, summary: 'Get a collection and its current schema', params: CollectionParams, response: { 200: CollectionSchema, ...errorResponses } } },
    async (request) => vault.getCollection(request.ctx, request.params.tenantId, request.params.name),
  );
  app.get(
    `${BASE}/:name/versions`,
    {
      config: { permission: 'collections:read', tenantObjectParam: 'name' },
      schema: { tags, summary: 'Schema history of a collection', params: CollectionParams, response: { 200: Type.Object({ items: Type.Array(VersionSchema) }), ...errorResponses } },
    },
    async (request) => ({ items: await vault.collectionVersions(request.ctx, request.params.tenantId, request.params.name) }),
  );
  app.put(
    `${BASE}/:name`,
    {
      config: { permission: 'collections:manage', tenantObjectParam: 'name' },
      schema: {
        tags,
        summary: 'Replace the schema (a new version, audited); fields left out are erased from every record',
        params: CollectionParams,
        body: Type.Object(SchemaBody, { additionalProperties: false }),
        response: { 200: CollectionSchema, 409: ProblemSchema, ...errorResponses },
      },
    },
    async (request) => vault.updateCollection(request.ctx, request.params.tenantId, request.params.name, request.body),
  );
  app.delete(
    `${BASE}/:name`,
    {
      config: { permission: 'collections:manage', tenantObjectParam: 'name' },
      schema: { tags, summary: 'Delete an empty collection', params: CollectionParams, response: { 204: Type.Null(), 409: ProblemSchema, ...errorResponses } },
    },
    async (request, reply) => {
      await vault.deleteCollection(request.ctx, request.params.tenantId, request.params.name);
      return reply.code(204).send(null);
    },
  );
  registerRecordRoutes(app, deps);
  await registerFileRoutes(app, deps);
}
