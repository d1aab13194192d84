import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isCustosError } from '../shared/errors.js';

/** RFC 9457 problem details, with Custos's stable `code` and the request id. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  requestId: string;
  errors?: Array<{ path: string; message: string }>;
}

const FASTIFY_CODES: Record<string, { code: string; status: number; detail?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', status: 415, detail: 'send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BODY_LENGTH_MISMATCH', status: 400 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', status: 413 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BODY_EMPTY', status: 400, detail: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BODY_MALFORMED_JSON', status: 400 },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 },
  FST_ERR_CTP_INVALID_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 },
};

export function problemType(code: string): string {
  return `urn:custos:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

export function buildProblem(request: FastifyRequest, status: number, code: string, detail: string, errors?: Problem['errors']): Problem {
  return {
    type: problemType(code),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    instance: request.url.split('?')[0] ?? '/',
    requestId: String(request.id),
    ...(errors ? { errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** Only what is safe to log about an error: never the driver's `detail` (it can hold values). */
export function safeErr(error: unknown): Record<string, unknown> {
  const e = error as { name?: string; code?: string; message?: string; stack?: string };
  return { type: e.name, code: e.code, message: e.message, stack: e.stack };
}

/** Maps any error to problem+json; never a stack trace or SQL text. */
export function errorToProblem(error: unknown, request: FastifyRequest): Problem {
  if (isCustosError(error)) {
    const errors = error.extensions?.errors as Problem['errors'] | undefined;
    const status = error.status >= 400 && error.status < 600 ? error.status : 500;
    if (status >= 500) return buildProblem(request, 500, error.code, 'internal error');
    return buildProblem(request, status, error.code, error.message, errors);
  }
  const fe = error as FastifyError & { validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }> };
  if (fe.validation) {
    const errors = fe.validation.map((v) => ({
      path: validationPath(fe.validationContext, v.instancePath, v.params),
      message: v.message ?? 'invalid',
    }));
    const first = errors[0];
    return buildProblem(request, 400, 'VALIDATION_FAILED', first ? `${first.path}: ${first.message}` : 'invalid request', errors);
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return buildProblem(request, mapped.status, mapped.code, mapped.detail ?? fe.message);
  if (fe.statusCode === 429) return buildProblem(request, 429, 'RATE_LIMITED', fe.message);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return buildProblem(request, fe.statusCode, 'BAD_REQUEST', fe.message);
  }
  return buildProblem(request, 500, 'INTERNAL', 'internal error');
}

function validationPath(context: string | undefined, instancePath: string | undefined, params?: Record<string, unknown>): string {
  const base = `${context ?? 'body'}${(instancePath ?? '').replace(/\//g, '.')}`;
  if (params?.additionalProperty) return `${base}.${String(params.additionalProperty)}`;
  if (params?.missingProperty) return `${base}.${String(params.missingProperty)}`;
  return base;
}
