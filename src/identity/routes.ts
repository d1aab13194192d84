import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { errorResponses, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import type { IdentityService } from './service.js';
import type { IssuedSession } from './types.js';

export const SESSION_COOKIE = '__Host-custos_session';

const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const Token = Type.String({ minLength: 8, maxLength: 100 });
const Code = Type.String({ minLength: 6, maxLength: 32 });
const SessionSchema = Type.Object({
  id: Uuid,
  state: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  absoluteExpiresAt: Type.String(),
  mfaAt: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});
const LoginReply = Type.Object({
  next: Type.Union([Type.Literal('none'), Type.Literal('mfa'), Type.Literal('enrol_mfa')]),
  mfaToken: Type.Optional(Type.String()),
  csrfToken: Type.Optional(Type.String()),
  session: SessionSchema,
});
const authErrors = { 401: ProblemSchema, 403: ProblemSchema, 422: ProblemSchema, 429: ProblemSchema, 400: ProblemSchema };

/** Active sessions go into the HttpOnly cookie; a pending one returns only its MFA token (not a credential). */
export function sendSession(reply: FastifyReply, issued: IssuedSession, maxAgeSeconds: number) {
  if (issued.next !== 'none') return reply.send({ next: issued.next, mfaToken: issued.token, session: issued.session });
  reply.header('set-cookie', `${SESSION_COOKIE}=${issued.token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`);
  return reply.send({ next: 'none', csrfToken: issued.csrfToken, session: issued.session });
}

export function registerAuthRoutes(app: App, identity: IdentityService): void {
  const maxAge = identity.deps.config.session.absoluteHours * 3600;
  const pub = { auth: 'public' as const };
  app.post(
    '/api/v1/setup',
    { config: pub, schema: { tags: ['identity'], summary: 'Create the first platform admin with the setup token', body: Type.Object({ token: Token, email: Email, name: Type.String({ minLength: 1, maxLength: 200 }), password: Password }, { additionalProperties: false }), response: { 200: LoginReply, ...authErrors } } },
    async (request, reply) => sendSession(reply, await identity.completeSetup(request.ctx, request.body), maxAge),
  );
  app.post(
    '/api/v1/auth/login',
    { config: pub, schema: { tags: ['identity'], summary: 'Log in with email and password', body: Type.Object({ email: Email, password: Password, tenantId: Type.Optional(Uuid) }, { additionalProperties: false }), response: { 200: LoginReply, ...authErrors } } },
    async (request, reply) => sendSession(reply, await identity.login(request.ctx, request.body), maxAge),
  );
  app.post(
    '/api/v1/auth/mfa/verify',
    { config: pub, schema: { tags: ['identity'], summary: 'Second factor of a login (TOTP or recovery code)', body: Type.Object({ mfaToken: Token, method: Type.Union([Type.Literal('totp'), Type.Literal('recovery')]), code: Code }, { additionalProperties: false }), response: { 200: LoginReply, ...authErrors } } },
    async (request, reply) => sendSession(reply, await identity.verifyMfa(request.ctx, request.body), maxAge),
  );
  app.post(
    '/api/v1/auth/mfa/totp/enrol',
    { config: pub, schema: { tags: ['identity'], summary: 'Start TOTP enrolment (pending login: mfaToken; else the signed-in user, with step-up)', body: Type.Object({ mfaToken: Type.Optional(Token) }, { additionalProperties: false }), response: { 200: Type.Object({ secret: Type.String(), uri: Type.String() }), 409: ProblemSchema, ...errorResponses } } },
    async (request) => identity.enrolTotp(request.ctx, request.body.mfaToken),
  );
  app.post(
    '/api/v1/auth/mfa/totp/confirm',
    { config: pub, schema: { tags: ['identity'], summary: 'Confirm TOTP enrolment; returns ten recovery codes once', body: Type.Object({ mfaToken: Type.Optional(Token), code: Code }, { additionalProperties: false }), response: { 200: Type.Object({ recoveryCodes: Type.Array(Type.String()), next: Type.Optional(Type.String()), csrfToken: Type.Optional(Type.String()), session: Type.Optional(SessionSchema) }), 409: ProblemSchema, ...errorResponses } } },
    async (request, reply) => {
      const r = await identity.confirmTotp(request.ctx, request.body.code, request.body.mfaToken);
      if (!r.session) return { recoveryCodes: r.recoveryCodes };
      reply.header('set-cookie', `${SESSION_COOKIE}=${r.session.token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAge}`);
      return { recoveryCodes: r.recoveryCodes, next: 'none', csrfToken: r.session.csrfToken, session: r.session.session };
    },
  );
  app.post(
    '/api/v1/auth/mfa/recovery-codes',
    { config: { permission: 'self' }, schema: { tags: ['identity'], summary: 'Replace the recovery codes (step-up)', response: { 200: Type.Object({ recoveryCodes: Type.Array(Type.String()) }), ...errorResponses } } },
    async (request) => ({ recoveryCodes: await identity.regenerateRecoveryCodes(request.ctx) }),
  );
  app.post(
    '/api/v1/auth/step-up',
    { config: { permission: 'self' }, schema: { tags: ['identity'], summary: 'Prove a second factor again for sensitive actions', body: Type.Object({ code: Code }, { additionalProperties: false }), response: { 204: Type.Null(), 429: ProblemSchema, ...errorResponses } } },
    async (request, reply) => {
      await identity.stepUp(request.ctx, request.body.code);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/api/v1/auth/logout',
    { config: { permission: 'self' }, schema: { tags: ['identity'], summary: 'End this session', response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await identity.logout(request.ctx);
      reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/api/v1/auth/password',
    { config: { permission: 'self' }, schema: { tags: ['identity'], summary: 'Change your password', body: Type.Object({ current: Password, next: Password }, { additionalProperties: false }), response: { 204: Type.Null(), 422: ProblemSchema, ...errorResponses } } },
    async (request, reply) => {
      await identity.changePassword(request.ctx, request.body);
      return reply.code(204).send(null);
    },
  );
  app.get(
    '/api/v1/auth/sessions',
    { config: { permission: 'self' }, schema: { tags: ['identity'], summary: 'Your active sessions', response: { 200: Type.Object({ items: Type.Array(SessionSchema) }), ...errorResponses } } },
    async (request) => ({ items: await identity.listSessions(request.ctx) }),
  );
  app.delete(
    '/api/v1/auth/sessions/:sessionId',
    // 'self': anyone may revoke their own sessions; revoking another's needs sessions:manage in the owner's scope,
    // and an id the caller may not touch answers SESSION_NOT_FOUND like an unknown one (no existence oracle).
    { config: { permission: 'self' }, schema: { tags: ['identity'], summary: 'Revoke a session (your own, or anyone\'s with sessions:manage)', params: Type.Object({ sessionId: Uuid }, { additionalProperties: false }), response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await identity.revokeSession(request.ctx, request.params.sessionId);
      return reply.code(204).send(null);
    },
  );
}
