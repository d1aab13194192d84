/**
 * The audit log's HTTP surface: read-only. There is deliberately no route
 * that writes, changes or deletes entries; the service authorises and
 * audits every read.
 */
import { Type } from 'typebox';
import { errorResponses, PageQuery, pageOf, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { AuditReadService } from './service.js';

const Base64 = Type.String({ description: 'base64' });
const Ref = Type.Object({ type: Type.String(), id: Type.String() });
const Index = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Size = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

const EntrySchema = Type.Object({
  index: Index,
  eventId: Uuid,
  recordedAt: Type.String({ format: 'date-time' }),
  tenantId: Type.Union([Uuid, Type.Null()]),
  classUid: Type.Integer(),
  activityId: Type.Integer(),
  action: Type.String(),
  actor: Ref,
  target: Type.Union([Ref, Type.Null()]),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  leafHash: Base64,
  event: Type.Object({}, { additionalProperties: true, description: 'the OCSF event; its RFC 8785 form is the leaf data' }),
});

const EntriesQuery = Type.Object(
  {
    ...PageQuery,
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'recorded at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'recorded before' })),
    actor: Type.Optional(Text(200)),
    actorType: Type.Optional(Text(40)),
    class: Type.Optional(Type.Integer({ minimum: 0, maximum: 999_999 })),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
    tenant: Type.Optional(Uuid),
    target: Type.Optional(Text(200)),
    targetType: Type.Optional(Text(40)),
    action: Type.Optional(Text(120)),
  },
  { additionalProperties: false },
);

const CheckpointSchema = Type.Object({
  origin: Type.String(),
  size: Index,
  root: Base64,
  note: Type.String({ description: 'C2SP signed note (tlog-checkpoint)' }),
  verifierKey: Type.String({ description: 'C2SP verifier key' }),
  createdAt: Type.String({ format: 'date-time' }),
});

const Note = Type.Union([Type.String(), Type.Null()]);

export function registerAuditRoutes(app: App, deps: { reader: AuditReadService }): void {
  const { reader } = deps;
  const config = { permission: 'audit:read' };
  app.get(
    '/api/v1/audit/entries',
    {
      config,
      schema: { tags: ['audit'], summary: 'List audit log entries', querystring: EntriesQuery, response: { 200: pageOf(EntrySchema), ...errorResponses } },
    },
    async (request) => reader.listEntries(request.ctx, request.query),
  );
  app.get(
    '/api/v1/audit/checkpoint',
    { config, schema: { tags: ['audit'], summary: 'The latest signed checkpoint', response: { 200: CheckpointSchema, ...errorResponses } } },
    async (request) => reader.latestCheckpoint(request.ctx),
  );
  app.get(
    '/api/v1/audit/proofs/inclusion',
    {
      config,
      schema: {
        tags: ['audit'],
        summary: 'Inclusion proof of an entry in the tree of a size (default: the latest checkpoint)',
        querystring: Type.Object({ index: Index, size: Type.Optional(Size) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ index: Index, size: Index, leafHash: Base64, proof: Type.Array(Base64), checkpoint: Note }),
          ...errorResponses,
        },
      },
    },
    async (request) => reader.inclusionProof(request.ctx, request.query.index, request.query.size),
  );
  app.get(
    '/api/v1/audit/proofs/consistency',
    {
      config,
      schema: {
        tags: ['audit'],
        summary: 'Consistency proof between two tree sizes (default `to`: the latest checkpoint)',
        querystring: Type.Object({ from: Size, to: Type.Optional(Size) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ from: Index, to: Index, proof: Type.Array(Base64), fromCheckpoint: Note, toCheckpoint: Note }),
          ...errorResponses,
        },
      },
    },
    async (request) => reader.consistencyProof(request.ctx, request.query.from, request.query.to),
  );
}
