import { Type } from 'typebox';
import { errorResponses, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { AccessRequestService } from './requests.js';

const RequestSchema = Type.Object({
  id: Uuid,
  accountId: Uuid,
  tenantId: Type.Union([Uuid, Type.Null()]),
  role: Type.String(),
  purposes: Type.Array(Type.String()),
  reason: Type.String(),
  minutes: Type.Integer(),
  status: Type.String({ description: 'pending, approved (active until expiresAt), denied, revoked or expired' }),
  createdAt: Type.String(),
  decidedBy: Type.Union([Uuid, Type.Null()]),
  decidedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  endedAt: Type.Union([Type.String(), Type.Null()]),
});
const Params = Type.Object({ requestId: Uuid }, { additionalProperties: false });
const BASE = '/api/v1/access-requests';
/** The longest grant one request may ask for. */
export const MAX_GRANT_MINUTES = 24 * 60;

/** Just-in-time access over HTTP; the service authorises every call (routes only parse and shape). */
export function registerAccessRequestRoutes(app: App, requests: AccessRequestService): void {
  const decided = { 200: RequestSchema, 409: ProblemSchema, ...errorResponses };
  app.post(
    BASE,
    { config: { permission: 'self' }, schema: { tags: ['access'], summary: 'Ask for a role or permission in a scope (platform, or tenantId) for some minutes', body: Type.Object({ tenantId: Type.Optional(Uuid), role: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}(:[a-z_]{1,40})?$' }), purposes: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 4 })), minutes: Type.Integer({ minimum: 1, maximum: MAX_GRANT_MINUTES }), reason: Type.String({ minLength: 3, maxLength: 1000 }) }, { additionalProperties: false }), response: { 201: RequestSchema, 422: ProblemSchema, ...errorResponses } } },
    async (request, reply) => reply.code(201).send(await requests.request(request.ctx, request.body)),
  );
  app.get(
    BASE,
    { config: { permission: 'self' }, schema: { tags: ['access'], summary: 'Pending, active or expired requests: your own, or all with access_requests:approve', querystring: Type.Object({ view: Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('expired'), Type.Literal('all')], { default: 'all' }), mine: Type.Optional(Type.Boolean()), limit: Type.Integer({ minimum: 1, maximum: 200, default: 100 }) }, { additionalProperties: false }), response: { 200: Type.Object({ items: Type.Array(RequestSchema) }), ...errorResponses } } },
    async (request) => ({ items: await requests.list(request.ctx, request.query) }),
  );
  app.get(
    `${BASE}/:requestId`,
    { config: { permission: 'self' }, schema: { tags: ['access'], summary: 'One request (yours, or any with access_requests:approve)', params: Params, response: { 200: RequestSchema, ...errorResponses } } },
    async (request) => requests.get(request.ctx, request.params.requestId),
  );
  for (const [verb, summary] of [
    ['approve', 'Approve (not your own; step-up): the grant runs from now'],
    ['deny', 'Deny (not your own; step-up)'],
    ['revoke', 'End an active grant early (its requester, or an approver)'],
  ] as const) {
    app.post(
      `${BASE}/:requestId/${verb}`,
      { config: { permission: 'access_requests:approve' }, schema: { tags: ['access'], summary, params: Params, response: decided } },
      async (request) => requests[verb](request.ctx, request.params.requestId),
    );
  }
}
