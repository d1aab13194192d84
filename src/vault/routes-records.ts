import { Type } from 'typebox';
import type { IdempotencyService } from '../idempotency/index.js';
import { errorResponses, PageQuery, pageOf, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import { CollectionName, CollectionParams, Purpose } from './route-schemas.js';
import type { VaultService } from './service.js';

const RecordSchema = Type.Object({
  id: Uuid,
  collection: Type.String(),
  subjectId: Uuid,
  version: Type.Integer({ description: 'schema version of the last write' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  erased: Type.Boolean({ description: "the subject's key was destroyed (crypto-shredded): nothing is readable" }),
  fields: Type.Record(Type.String(), Type.Unknown(), { description: 'only the fields the reason and your purposes allow' }),
  withheld: Type.Array(Type.String(), { description: 'personal fields holding a value that this read may not return' }),
});

const FieldValues = Type.Record(Type.String({ maxLength: 63 }), Type.Unknown(), { maxProperties: 100 });
const FieldList = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*(,[A-Za-z][A-Za-z0-9_]*)*$', maxLength: 2000, description: 'comma-separated field names (default: all)' });
const ReadQuery = {
  reason: Type.Optional(Purpose),
  fields: Type.Optional(FieldList),
};
const RecordParams = Type.Object({ tenantId: Uuid, name: CollectionName, recordId: Uuid }, { additionalProperties: false });
const BASE = '/api/v1/tenants/:tenantId/collections/:name/records';
const tags = ['vault'];
const split = (f: string | undefined) => (f ? f.split(',') : undefined);

/** Records, search, duplicates and the subject view. Bodies carry values; URLs never do. */
export function registerRecordRoutes(app: App, deps: { vault: VaultService; idempotency: IdempotencyService }): void {
  const { vault, idempotency } = deps;
  app.post(
    BASE,
    {
      config: { permission: 'records:write', tenantObjectParam: 'name' },
      schema: {
        tags,
        summary: 'Create a record (values validated, normalised, personal fields sealed under the data subject key)',
        params: CollectionParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: Type.Object({ fields: FieldValues }, { additionalProperties: false }),
        response: { 201: RecordSchema, 409: ProblemSchema, 410: ProblemSchema, 422: ProblemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenantId, name } = request.params;
      const r = await idempotency.execute(request.ctx, async () => ({ status: 201, body: await vault.createRecord(request.ctx, tenantId, name, request.body.fields) }));
      return reply.code(r.status).header('idempotency-replayed', String(r.replayed)).send(r.body as never);
    },
  );
  app.get(
    BASE,
    {
      config: { permission: 'records:read', tenantObjectParam: 'name' },
      schema: { tags, summary: 'List records (audited)', params: CollectionParams, querystring: Type.Object({ ...PageQuery, ...ReadQuery }, { additionalProperties: false }), response: { 200: pageOf(RecordSchema), ...errorResponses } },
    },
    async (request) => {
      const { tenantId, name } = request.params;
      return vault.listRecords(request.ctx, tenantId, name, { ...request.query, fields: split(request.query.fields) });
    },
  );
  app.post(
    `${BASE}/search`,
    {
      config: { permission: 'records:read', tenantObjectParam: 'name' },
      schema: {
        tags,
        summary: 'Equality search on searchable fields (values in the body, matched through blind indexes; audited)',
        params: CollectionParams,
        body: Type.Object(
          { where: FieldValues, reason: ReadQuery.reason, fields: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 100 })), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(RecordSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { tenantId, name } = request.params;
      const { where, ...opts } = request.body;
      return vault.searchRecords(request.ctx, tenantId, name, where, opts);
    },
  );
  app.get(
    `${BASE}/:recordId`,
    {
      config: { permission: 'records:read', tenantObjectParam: 'recordId' },
      schema: {
        tags,
        summary: 'Read a record for a reason (audited: fields requested and returned); 410 when its subject was crypto-shredded',
        params: RecordParams,
        querystring: Type.Object(ReadQuery, { additionalProperties: false }),
        response: { 200: RecordSchema, 410: ProblemSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { tenantId, name, recordId } = request.params;
      return vault.getRecord(request.ctx, tenantId, name, recordId, { reason: request.query.reason, fields: split(request.query.fields) });
    },
  );
  app.patch(
    `${BASE}/:recordId`,
    {
      config: { permission: 'records:write', tenantObjectParam: 'recordId' },
      schema: {
        tags,
        summary: 'Update some fields (null clears an optional field)',
        params: RecordParams,
        body: Type.Object({ fields: FieldValues }, { additionalProperties: false }),
        response: { 200: RecordSchema, 409: ProblemSchema, 410: ProblemSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { tenantId, name, recordId } = request.params;
      return vault.updateRecord(request.ctx, tenantId, name, recordId, request.body.fields);
    },
  );
  app.delete(
    `${BASE}/:recordId`,
    { config: { permission: 'records:write', tenantObjectParam: 'recordId' }, schema: { tags, summary: 'Delete a record', params: RecordParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { tenantId, name, recordId } = request.params;
      await vault.deleteRecord(request.ctx, tenantId, name, recordId);
      return reply.code(204).send(null);
    },
  );
  app.get(
    `${BASE}/:recordId/duplicates`,
    {
      config: { permission: 'records:read', tenantObjectParam: 'recordId' },
      schema: {
        tags,
        summary: "Probable duplicates: other subjects' records sharing a blind-indexed value (field names only)",
        params: RecordParams,
        response: { 200: Type.Object({ items: Type.Array(Type.Object({ recordId: Uuid, subjectId: Uuid, matchedFields: Type.Array(Type.String()) })) }), ...errorResponses },
      },
    },
    async (request) => {
      const { tenantId, name, recordId } = request.params;
      return { items: await vault.duplicates(request.ctx, tenantId, name, recordId) };
    },
  );
  app.get(
    '/api/v1/tenants/:tenantId/subjects/:subjectId',
    {
      config: { permission: 'records:read', tenantObjectParam: 'subjectId' },
      schema: {
        tags,
        summary: 'Every record of one data subject across collections (audited)',
        params: Type.Object({ tenantId: Uuid, subjectId: Uuid }, { additionalProperties: false }),
        querystring: Type.Object({ reason: ReadQuery.reason }, { additionalProperties: false }),
        response: { 200: Type.Object({ subjectId: Uuid, records: Type.Array(RecordSchema) }), ...errorResponses },
      },
    },
    async (request) => vault.subject(request.ctx, request.params.tenantId, request.params.subjectId, { reason: request.query.reason }),
  );
}
