import type { FastifyRequest } from 'fastify';
import { requestHash } from '../idempotency/index.js';
import type { Actor } from '../shared/context.js';
import { actorRef } from '../shared/context.js';
import { createError } from '../shared/errors.js';
import type { App } from './types.js';

/** Turns a presented bearer token into an actor; undefined when it is not this authenticator's kind. */
export type Authenticator = (token: string) => Promise<Actor | undefined>;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,255}$/;

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(h);
  if (!m) throw createError('AUTH_MALFORMED', 'Authorization must be "Bearer <token>"', 401);
  return m[1];
}

/**
 * Resolves the caller on every request (onRequest) and, for creating
 * requests with an Idempotency-Key, the key's identity (preHandler, once the
 * body is parsed). It does not authorise: services do, with the actor it sets.
 */
export function registerAuth(app: App, authenticators: Authenticator[]): void {
  app.decorateRequest('ctx', null as never);
  app.addHook('onRequest', async (request) => {
    request.ctx = { actor: { type: 'anonymous' }, requestId: String(request.id), sourceIp: request.ip ?? null };
    const token = bearer(request);
    if (token === undefined) return;
    for (const authenticate of authenticators) {
      const actor = await authenticate(token);
      if (actor) {
        request.ctx.actor = actor;
        return;
      }
    }
    throw createError('AUTH_INVALID_TOKEN', 'the credentials are not valid', 401);
  });
  app.addHook('preHandler', async (request) => {
    const key = request.headers['idempotency-key'];
    if (key === undefined || request.method !== 'POST') return;
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
      throw createError('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 8 to 255 printable ASCII characters', 400);
    }
    const route = request.routeOptions.url ?? request.url;
    const ref = actorRef(request.ctx.actor);
    request.ctx.idempotency = {
      principal: `${ref.type}:${ref.id}`,
      key,
      method: request.method,
      route,
      requestHash: requestHash(request.method, request.url.split('?')[0] ?? route, request.body),
    };
  });
}
