import { Type } from 'typebox';
import { errorResponses, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { IdentityService } from './service.js';

const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' });
const Roles = Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), { minItems: 1, maxItems: 20 });
const AccountSchema = Type.Object({
  id: Uuid,
  realm: Type.String(),
  tenantId: Type.Union([Uuid, Type.Null()]),
  roles: Type.Array(Type.String()),
  status: Type.String(),
  mfaRequired: Type.Boolean(),
  createdAt: Type.String(),
});
const ApiKeySchema = Type.Object({
  id: Uuid,
  tenantId: Uuid,
  name: Type.String(),
  permissions: Type.Array(Type.String()),
  purposes: Type.Array(Type.String()),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedIp: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  replacedBy: Type.Union([Type.String(), Type.Null()]),
  flaggedAt: Type.Union([Type.String(), Type.Null()]),
  flagReason: Type.Union([Type.String(), Type.Null()]),
});
const NewKeyReply = Type.Object({ key: ApiKeySchema, token: Type.String({ description: 'shown once' }) });
const TenantParams = Type.Object({ tenantId: Uuid }, { additionalProperties: false });
const KeyParams = Type.Object({ tenantId: Uuid, keyId: Uuid }, { additionalProperties: false });

export function registerAdminRoutes(app: App, identity: IdentityService): void {
  app.post(
    '/api/v1/invitations',
    { config: { permission: 'accounts:manage', tenantPermission: 'members:manage' }, schema: { tags: ['identity'], summary: 'Invite a person (platform, or a tenant with tenantId; members:manage there)', body: Type.Object({ email: Email, roles: Roles, tenantId: Type.Optional(Uuid) }, { additionalProperties: false }), response: { 201: Type.Object({ token: Type.String(), invitationId: Uuid, expiresAt: Type.String() }), 422: ProblemSchema, ...errorResponses } } },
    async (request, reply) => reply.code(201).send(await identity.invite(request.ctx, { ...request.body, tenantId: request.body.tenantId ?? null })),
  );
  app.post(
    '/api/v1/invitations/accept',
    { config: { auth: 'public' }, schema: { tags: ['identity'], summary: 'Accept an invitation and set a password', body: Type.Object({ token: Type.String({ minLength: 8, maxLength: 100 }), email: Email, name: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }), response: { 201: AccountSchema, 409: ProblemSchema, 422: ProblemSchema, ...errorResponses } } },
    async (request, reply) => reply.code(201).send(await identity.acceptInvitation(request.ctx, request.body)),
  );
  app.get(
    '/api/v1/accounts/:accountId',
    { config: { permission: 'accounts:read', tenantPermission: 'members:read' }, schema: { tags: ['identity'], summary: 'Get an account', params: Type.Object({ accountId: Uuid }, { additionalProperties: false }), response: { 200: AccountSchema, ...errorResponses } } },
    async (request) => identity.getAccount(request.ctx, request.params.accountId),
  );
  app.post(
    '/api/v1/accounts/:accountId/deactivate',
    { config: { permission: 'accounts:manage', tenantPermission: 'members:manage' }, schema: { tags: ['identity'], summary: 'Offboard: deactivate, revoke sessions and grants, flag API keys (step-up)', params: Type.Object({ accountId: Uuid }, { additionalProperties: false }), response: { 200: AccountSchema, ...errorResponses } } },
    async (request) => identity.deactivate(request.ctx, request.params.accountId),
  );
  app.post(
    '/api/v1/tenants/:tenantId/api-keys',
    { config: { permission: 'api_keys:manage' }, schema: { tags: ['identity'], summary: 'Create an API key (shown once)', params: TenantParams, body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), permissions: Type.Array(Type.String(), { maxItems: 50 }), purposes: Type.Array(Type.String(), { maxItems: 10 }), expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) }, { additionalProperties: false }), response: { 201: NewKeyReply, 422: ProblemSchema, ...errorResponses } } },
    async (request, reply) => reply.code(201).send(await identity.createApiKey(request.ctx, { ...request.body, tenantId: request.params.tenantId })),
  );
  app.get(
    '/api/v1/tenants/:tenantId/api-keys',
    { config: { permission: 'api_keys:read' }, schema: { tags: ['identity'], summary: 'List API keys (keys past the age policy are flagged)', params: TenantParams, response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...errorResponses } } },
    async (request) => ({ items: await identity.listApiKeys(request.ctx, request.params.tenantId) }),
  );
  app.post(
    '/api/v1/tenants/:tenantId/api-keys/:keyId/rotate',
    { config: { permission: 'api_keys:manage', tenantObjectParam: 'keyId' }, schema: { tags: ['identity'], summary: 'Rotate: a new key; the old one works until the overlap ends', params: KeyParams, response: { 201: NewKeyReply, ...errorResponses } } },
    async (request, reply) => reply.code(201).send(await identity.rotateApiKey(request.ctx, request.params.tenantId, request.params.keyId)),
  );
  app.delete(
    '/api/v1/tenants/:tenantId/api-keys/:keyId',
    { config: { permission: 'api_keys:manage', tenantObjectParam: 'keyId' }, schema: { tags: ['identity'], summary: 'Revoke an API key', params: KeyParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await identity.revokeApiKey(request.ctx, request.params.tenantId, request.params.keyId);
      return reply.code(204).send(null);
    },
  );
}
