import type { FastifyRequest } from 'fastify';
import { requestHash } from '../idempotency/index.js';
import type { Actor } from '../shared/context.js';
import { actorRef } from '../shared/context.js';
import { createError } from '../shared/errors.js';
import type { App } from './types.js';

/** Turns a presented bearer token into an actor; undefined when it is not this authenticator's kind. */
export type Authenticator = (token: string, request: FastifyRequest) => Promise<Actor | undefined>;

/**
 * Session cookies (the console). A cookie-authenticated request that changes
 * something (not GET/HEAD/OPTIONS) must carry the session's CSRF token in
 * `x-csrf-token` (a synchronizer token derived from the session secret) and,
 * when the browser sends one, an `Origin` equal to this server's; otherwise
 * AUTH_CSRF_FAILED. SameSite=Strict is the first line; this is the second.
 */
export interface CookieAuth {
  name: string;
  authenticate(token: string): Promise<Actor | undefined>;
  csrfMatches(token: string, presented: string): boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

async function cookieActor(request: FastifyRequest, cookie: CookieAuth): Promise<Actor | undefined> {
  const token = readCookie(request.headers.cookie, cookie.name);
  if (!token) return undefined;
  const actor = await cookie.authenticate(token).catch(() => undefined);
  if (!actor || SAFE_METHODS.has(request.method)) return actor;
  const presented = request.headers['x-csrf-token'];
  if (typeof presented !== 'string' || !cookie.csrfMatches(token, presented) || !sameOrigin(request)) {
    throw createError('AUTH_CSRF_FAILED', 'cookie-authenticated changes need the x-csrf-token header of this session and a same-origin Origin', 403);
  }
  return actor;
}

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
export function registerAuth(app: App, authenticators: Authenticator[], cookie?: CookieAuth): void {
  app.decorateRequest('ctx', null as never);
  app.addHook('onRequest', async (request) => {
    request.ctx = { actor: { type: 'anonymous' }, requestId: String(request.id), sourceIp: request.ip ?? null };
    const token = bearer(request);
    if (token === undefined) {
      const actor = cookie ? await cookieActor(request, cookie) : undefined;
      if (actor) request.ctx.actor = actor;
      return;
    }
    for (const authenticate of authenticators) {
      const actor = await authenticate(token, request);
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
