import { Type } from 'typebox';
import { errorResponses, PageQuery, pageOf, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { SiemService } from './service.js';

const L = Type.Literal;
const Severity = Type.Union([L('informational'), L('low'), L('medium'), L('high'), L('critical')]);
const State = Type.Union([L('open'), L('acknowledged'), L('resolved'), L('false_positive')]);
const Action = Type.Union([L('lock_account'), L('revoke_sessions'), L('suspend_api_key')]);
const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

const AlertSchema = Type.Object({
  id: Uuid,
  ruleId: Type.String(),
  title: Type.String(),
  severity: Severity,
  groupKey: Type.String({ description: 'correlation group-by values, or actor and target of a detection: the deduplication key' }),
  tenantId: Type.Union([Uuid, Type.Null()]),
  state: State,
  assignee: Type.Union([Uuid, Type.Null()]),
  count: Type.Integer({ description: 'matches folded into this alert within the suppression window' }),
  indexes: Type.Array(Type.Integer(), { description: 'audit log indexes that triggered it (the first 100)' }),
  firstSeenAt: Time,
  lastSeenAt: Time,
  tags: Type.Array(Type.String()),
  createdAt: Time,
  updatedAt: Time,
  closedAt: NullableTime,
});

const NoteSchema = Type.Object({ id: Uuid, author: Type.Object({ type: Type.String(), id: Type.String() }), body: Type.String(), createdAt: Time });
const ResponseSchema = Type.Object({
  id: Uuid,
  action: Action,
  target: Type.Object({ type: Type.String(), id: Type.String() }),
  state: Type.Union([L('applied'), L('skipped'), L('reverted')]),
  appliedAt: Time,
  revertedAt: NullableTime,
  revertedBy: Type.Union([Type.String(), Type.Null()]),
});
const ProofSchema = Type.Object({
  index: Type.Integer(),
  proof: Type.Union([
    Type.Object({ size: Type.Integer(), leafHash: Type.String(), proof: Type.Array(Type.String()), checkpoint: Type.Union([Type.String(), Type.Null()]) }),
    Type.Null(),
  ]),
});
const DetailSchema = Type.Intersect([AlertSchema, Type.Object({ notes: Type.Array(NoteSchema), responses: Type.Array(ResponseSchema), proofs: Type.Array(ProofSchema) })]);
const RuleSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  kind: Type.Union([L('detection'), L('correlation')]),
  level: Severity,
  effectiveLevel: Severity,
  tags: Type.Array(Type.String()),
  source: Type.Union([L('builtin'), L('extra')]),
  enabled: Type.Boolean(),
  suppressionSeconds: Type.Integer(),
  responses: Type.Array(Action),
  updatedAt: NullableTime,
});

const AlertParams = Type.Object({ alertId: Uuid }, { additionalProperties: false });
const RuleParams = Type.Object({ ruleId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const tags = ['siem'];

/** Alerts and rule settings over HTTP; the service authorises and audits. */
export function registerSiemRoutes(app: App, siem: SiemService): void {
  app.get(
    '/api/v1/siem/alerts',
    {
      config: { permission: 'alerts:read' },
      schema: {
        tags,
        summary: 'List alerts, newest first',
        querystring: Type.Object(
          { ...PageQuery, state: Type.Optional(State), severity: Type.Optional(Severity), rule: Type.Optional(Type.String({ maxLength: 200 })), since: Type.Optional(Time) },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(AlertSchema), ...errorResponses },
      },
    },
    async (request) => siem.list(request.ctx, request.query),
  );
  app.get(
    '/api/v1/siem/alerts/:alertId',
    {
      config: { permission: 'alerts:read' },
      schema: { tags, summary: 'One alert with notes, responses and inclusion proofs of its log entries', params: AlertParams, response: { 200: DetailSchema, ...errorResponses } },
    },
    async (request) => siem.get(request.ctx, request.params.alertId),
  );
  app.patch(
    '/api/v1/siem/alerts/:alertId',
    {
      config: { permission: 'alerts:manage' },
      schema: {
        tags,
        summary: 'Acknowledge, resolve or mark an alert a false positive; assign it',
        params: AlertParams,
        body: Type.Object({ state: Type.Optional(State), assignee: Type.Optional(Type.Union([Uuid, Type.Null()])) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: AlertSchema, 409: ProblemSchema, 422: ProblemSchema, ...errorResponses },
      },
    },
    async (request) => siem.update(request.ctx, request.params.alertId, request.body),
  );
  app.post(
    '/api/v1/siem/alerts/:alertId/notes',
    {
      config: { permission: 'alerts:manage' },
      schema: {
        tags,
        summary: 'Add a note to an alert (stored sealed)',
        params: AlertParams,
        body: Type.Object({ body: Type.String({ minLength: 1, maxLength: 10_000 }) }, { additionalProperties: false }),
        response: { 201: NoteSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await siem.addNote(request.ctx, request.params.alertId, request.body.body)),
  );
  app.post(
    '/api/v1/siem/alerts/:alertId/responses/:responseId/revert',
    {
      config: { permission: 'alerts:manage' },
      schema: {
        tags,
        summary: 'Undo a response the SIEM took (unlock the account, restore its sessions, resume the API key)',
        params: Type.Object({ alertId: Uuid, responseId: Uuid }, { additionalProperties: false }),
        response: { 200: ResponseSchema, 409: ProblemSchema, ...errorResponses },
      },
    },
    async (request) => siem.revert(request.ctx, request.params.alertId, request.params.responseId),
  );
  app.get(
    '/api/v1/siem/rules',
    { config: { permission: 'alerts:read' }, schema: { tags, summary: 'Loaded rules with this deployment’s settings', response: { 200: Type.Array(RuleSchema), ...errorResponses } } },
    async (request) => siem.listRules(request.ctx),
  );
  app.patch(
    '/api/v1/siem/rules/:ruleId',
    {
      config: { permission: 'siem:manage' },
      schema: {
        tags,
        summary: 'Enable, disable or tune a rule; turn its responses on or off (responses need a recent second factor)',
        params: RuleParams,
        body: Type.Object(
          {
            enabled: Type.Optional(Type.Boolean()),
            level: Type.Optional(Type.Union([Severity, Type.Null()])),
            suppressionSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 30 * 86_400 }), Type.Null()])),
            responses: Type.Optional(Type.Array(Action, { uniqueItems: true, maxItems: 3 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: RuleSchema, ...errorResponses },
      },
    },
    async (request) => siem.updateRule(request.ctx, request.params.ruleId, request.body),
  );
}
