import { Type } from 'typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { errorResponses, ProblemSchema } from '../server/schemas.js';
import type { App } from '../server/types.js';
import { SESSION_COOKIE, sendSession } from './routes.js';
import type { IdentityService } from './service.js';

const Token = Type.String({ minLength: 8, maxLength: 100 });
const B64u = Type.String({ maxLength: 16_384, pattern: '^[A-Za-z0-9_-]*$' });
/** A PublicKeyCredential as JSON (the browser's toJSON()); @simplewebauthn/server checks its content. */
const Credential = Type.Object(
  {
    id: B64u,
    rawId: B64u,
    type: Type.Literal('public-key'),
    response: Type.Record(Type.String({ maxLength: 40 }), Type.Union([B64u, Type.Array(Type.String({ maxLength: 20 }), { maxItems: 8 })])),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 40 })),
    clientExtensionResults: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: false },
);
const Options = Type.Object({}, { additionalProperties: true, description: 'WebAuthn options JSON for navigator.credentials' });
const PasskeySchema = Type.Object({ id: Type.String(), transports: Type.Array(Type.String()), createdAt: Type.String(), lastUsedAt: Type.Union([Type.String(), Type.Null()]) });
const errors = { 409: ProblemSchema, 429: ProblemSchema, ...errorResponses };

/** Passkeys as a second factor: registration (at a first login with the MFA token, or signed in with step-up) and login. */
export function registerWebauthnRoutes(app: App, identity: IdentityService): void {
  const maxAge = identity.deps.config.session.absoluteHours * 3600;
  const pub = { auth: 'public' as const };
  const tags = ['identity'];
  app.post(
    '/api/v1/auth/mfa/webauthn/register/options',
    { config: pub, schema: { tags, summary: 'Passkey registration options (pending first login: mfaToken; else the signed-in user, with step-up)', body: Type.Object({ mfaToken: Type.Optional(Token) }, { additionalProperties: false }), response: { 200: Options, ...errors } } },
    async (request) => identity.passkeyRegistrationOptions(request.ctx, request.body.mfaToken),
  );
  app.post(
    '/api/v1/auth/mfa/webauthn/register/verify',
    { config: pub, schema: { tags, summary: 'Store a passkey from its attestation; a first factor returns ten recovery codes once', body: Type.Object({ mfaToken: Type.Optional(Token), response: Credential }, { additionalProperties: false }), response: { 200: Type.Object({ passkey: PasskeySchema, recoveryCodes: Type.Optional(Type.Array(Type.String())), next: Type.Optional(Type.String()), csrfToken: Type.Optional(Type.String()) }, { additionalProperties: true }), ...errors } } },
    async (request, reply) => {
      const r = await identity.verifyPasskeyRegistration(request.ctx, { mfaToken: request.body.mfaToken, response: request.body.response as unknown as RegistrationResponseJSON });
      if (!r.session) return { passkey: r.passkey, recoveryCodes: r.recoveryCodes };
      reply.header('set-cookie', `${SESSION_COOKIE}=${r.session.token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAge}`);
      return { passkey: r.passkey, recoveryCodes: r.recoveryCodes, next: 'none', csrfToken: r.session.csrfToken, session: r.session.session };
    },
  );
  app.post(
    '/api/v1/auth/mfa/webauthn/options',
    { config: pub, schema: { tags, summary: 'Passkey challenge for the second step of a login', body: Type.Object({ mfaToken: Token }, { additionalProperties: false }), response: { 200: Options, ...errors } } },
    async (request) => identity.passkeyAuthenticationOptions(request.ctx, request.body.mfaToken),
  );
  app.post(
    '/api/v1/auth/mfa/webauthn/verify',
    { config: pub, schema: { tags, summary: 'Second step of a login with a passkey assertion', body: Type.Object({ mfaToken: Token, response: Credential }, { additionalProperties: false }), response: { 200: Type.Object({}, { additionalProperties: true }), ...errors } } },
    async (request, reply) => sendSession(reply, await identity.verifyPasskeyLogin(request.ctx, { mfaToken: request.body.mfaToken, response: request.body.response as unknown as AuthenticationResponseJSON }), maxAge),
  );
  app.get(
    '/api/v1/auth/mfa/webauthn/credentials',
    { config: { permission: 'self' }, schema: { tags, summary: 'Your passkeys', response: { 200: Type.Object({ items: Type.Array(PasskeySchema) }), ...errorResponses } } },
    async (request) => ({ items: await identity.listPasskeys(request.ctx) }),
  );
  app.delete(
    '/api/v1/auth/mfa/webauthn/credentials/:credentialId',
    { config: { permission: 'self' }, schema: { tags, summary: 'Remove one of your passkeys (step-up; not your last required factor)', params: Type.Object({ credentialId: B64u }, { additionalProperties: false }), response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await identity.deletePasskey(request.ctx, request.params.credentialId);
      return reply.code(204).send(null);
    },
  );
}
