import type { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses, ProblemSchema, Uuid } from '../server/schemas.js';
import type { App } from '../server/types.js';
import { CollectionName, Purpose } from './route-schemas.js';
import type { VaultService } from './service.js';

const FileParams = Type.Object(
  { tenantId: Uuid, name: CollectionName, recordId: Uuid, field: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,62}$' }) },
  { additionalProperties: false },
);
const URL = '/api/v1/tenants/:tenantId/collections/:name/records/:recordId/files/:field';
const tags = ['vault'];

/**
 * File fields: the raw request body is the content (its Content-Type the
 * declared type), streamed through inspection and encryption. Registered in
 * their own plugin context so the catch-all body parser stays here.
 */
export async function registerFileRoutes(app: App, deps: { vault: VaultService }): Promise<void> {
  const { vault } = deps;
  await app.register(async (sub) => {
    const files = sub.withTypeProvider<TypeBoxTypeProvider>();
    files.removeAllContentTypeParsers();
    files.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    files.put(
      URL,
      {
        config: { permission: 'records:write', tenantObjectParam: 'recordId' },
        schema: {
          tags,
          summary: 'Upload a file field (raw body; Content-Type declares the type). Sniffed by magic bytes; executables and scripts refused',
          params: FileParams,
          response: {
            201: Type.Object({ fileId: Uuid, mediaType: Type.String(), size: Type.Integer(), sha256: Type.String() }),
            410: ProblemSchema,
            413: ProblemSchema,
            415: ProblemSchema,
            422: ProblemSchema,
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const { tenantId, name, recordId, field } = request.params;
        const declaredType = request.headers['content-type'] ?? 'application/octet-stream';
        const out = await vault.putFile(request.ctx, tenantId, name, recordId, field, { source: request.body as Readable, declaredType });
        return reply.code(201).send(out);
      },
    );
    files.get(
      URL,
      {
        config: { permission: 'records:read', tenantObjectParam: 'recordId' },
        schema: {
          tags,
          summary: 'Download a file field (decrypted while streamed; personal files need a reason the field declares and you hold)',
          params: FileParams,
          querystring: Type.Object({ reason: Type.Optional(Purpose) }, { additionalProperties: false }),
          response: { 410: ProblemSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { tenantId, name, recordId, field } = request.params;
        const file = await vault.getFile(request.ctx, tenantId, name, recordId, field, request.query.reason);
        return reply
          .header('content-type', file.mediaType)
          .header('content-length', String(file.size))
          .header('content-disposition', 'attachment')
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-store')
          .send(file.stream as never);
      },
    );
    files.delete(
      URL,
      { config: { permission: 'records:write', tenantObjectParam: 'recordId' }, schema: { tags, summary: 'Delete a file field (content and key)', params: FileParams, response: { 204: Type.Null(), ...errorResponses } } },
      async (request, reply) => {
        const { tenantId, name, recordId, field } = request.params;
        await vault.deleteFile(request.ctx, tenantId, name, recordId, field);
        return reply.code(204).send(null);
      },
    );
  });
}
