import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyServerOptions } from 'fastify';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { registerAuth, type Authenticator, type CookieAuth } from './auth.js';
import type { Metrics } from './metrics.js';
import { buildProblem, errorToProblem, safeErr, sendProblem } from './problem.js';
import { registerSystemRoutes } from './system-routes.js';
import type { App } from './types.js';
import { createValidatorCompiler } from './validation.js';

export interface ServerDeps {
  config: Config;
  db: Db;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  authenticators: Authenticator[];
  /** Session cookies with CSRF checks (identity); absent: bearer only. */
  cookieAuth?: CookieAuth | undefined;
  /** HTTPS options; absent for in-process tests (app.inject). */
  https?: HttpsServerOptions | undefined;
  /** Each module's `register(app)`; main.ts lists them. */
  modules: Array<(app: App) => void | Promise<void>>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      upgradeInsecureRequests: [],
    },
  },
  strictTransportSecurity: { maxAge: 63_072_000, includeSubDomains: true, preload: false },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  frameguard: { action: 'deny' },
};

/** The headers helmet sets with `options`, read off one request to a throwaway instance. */
async function helmetHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  await probe.register(helmet, options);
  probe.get('/', async () => 'probe');
  const res = await probe.inject({ method: 'GET', url: '/' });
  await probe.close();
  const skip = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (!skip.has(k) && typeof v === 'string') out[k] = v;
  return out;
}

/** Assembles the HTTPS API: security headers, limits, errors, auth, docs, then the modules. */
export async function buildServer(deps: ServerDeps): Promise<App> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: config.bodyLimitBytes,
    https: deps.https ?? null,
    trustProxy: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { maxParamLength: 200 },
  } as FastifyServerOptions).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(createValidatorCompiler());
  app.decorate('routeTable', []);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method !== 'HEAD') app.routeTable.push({ method, url: route.url, config: (route.config ?? {}) as never });
    }
  });
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error, request, reply) => {
    const problem = errorToProblem(error, request);
    if (problem.status >= 500) request.log.error({ err: safeErr(error) }, 'request failed');
    else request.log.info({ code: problem.code, status: problem.status }, 'request refused');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, buildProblem(request, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', String(request.id));
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  // Computed once: @fastify/helmet rebuilds helmet's middleware on every request (about a tenth
  // of a small authenticated request's CPU); the headers never vary per request here.
  const securityHeaders = Object.entries(await helmetHeaders(HELMET_OPTIONS));
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of securityHeaders) reply.raw.setHeader(name, value);
    done();
  });
  if (config.rateLimit.enabled) {
    await app.register(rateLimit, {
      global: true,
      max: config.rateLimit.max,
      timeWindow: config.rateLimit.timeWindowMs,
      errorResponseBuilder: (_req, ctx) => {
        const err = new Error(`rate limit exceeded: retry in ${Math.ceil(ctx.ttl / 1000)} s`) as Error & { statusCode: number };
        err.statusCode = 429;
        return err;
      },
    });
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Custos API', version: '1', description: 'Security measures as running software.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true, uiConfig: { docExpansion: 'list' } });

  registerAuth(app, deps.authenticators, deps.cookieAuth);
  registerSystemRoutes(app, deps);
  for (const register of deps.modules) await register(app);
  await app.ready();
  return app;
}
