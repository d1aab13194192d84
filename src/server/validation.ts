import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const common: Options = {
  allErrors: false,
  // Unknown fields are refused, never silently dropped: schemas say additionalProperties: false.
  removeAdditional: false,
  useDefaults: true,
  strict: false,
};

function make(options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

/**
 * Bodies are validated exactly (a number where a string belongs is a 400);
 * query strings, params and headers are text on the wire and are coerced.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strictAjv = make({ coerceTypes: false });
  const coercing = make({ coerceTypes: 'array' });
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strictAjv : coercing;
    return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}
