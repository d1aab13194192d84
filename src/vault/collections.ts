import { ACTIVITY } from '../audit/index.js';
import type { TenantScope } from '../db/index.js';
import { actorRef, type RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { decodeCursor, encodeCursor, type Page } from '../shared/pagination.js';
import { toCollection, vaultEvent, type VaultCore } from './core.js';
import { vaultErrors } from './errors.js';
import { COLLECTION_NAME, diffSchemas, validateSchema } from './schema.js';
import * as store from './store.js';
import type { Collection, CollectionSchema, CollectionVersion } from './types.js';

const REWRITE_PAGE = 500;

function checkName(name: string): void {
  if (!COLLECTION_NAME.test(name)) throw vaultErrors.schemaInvalid([{ path: 'name', message: 'lower-case letters, digits and "_", starting with a letter, at most 63' }]);
}

const actorText = (ctx: RequestContext) => `${actorRef(ctx.actor).type}:${actorRef(ctx.actor).id}`;

/** Drops removed fields from every record of the collection (sealed and plain parts); returns how many changed. */
async function eraseFields(s: TenantScope, collectionId: string, removed: string[]): Promise<number> {
  // The nil UUID sorts before every id (PostgreSQL compares uuid columns only with UUIDs).
  let after = '00000000-0000-0000-0000-000000000000';
  let changed = 0;
  for (;;) {
    const page = await store.recordPage(s, collectionId, after, REWRITE_PAGE);
    for (const r of page) {
      const sealed = JSON.parse(r.sealed) as Record<string, unknown>;
      const plain = JSON.parse(r.plain) as Record<string, unknown>;
      if (!removed.some((f) => f in sealed || f in plain)) continue;
      for (const f of removed) {
        delete sealed[f];
        delete plain[f];
      }
      await store.rewriteRecordData(s, r.id, JSON.stringify(sealed), JSON.stringify(plain));
      changed++;
    }
    if (page.length < REWRITE_PAGE) return changed;
    after = page[page.length - 1]?.id ?? after;
  }
}

export function collectionOps(core: VaultCore) {
  const { db, audit, guard, idempotency } = core;
  return {
    async createCollection(ctx: RequestContext, tenantId: string, name: string, input: unknown): Promise<Collection> {
      await guard.assert(ctx, 'collections:manage', { tenantId });
      checkName(name);
      const schema = validateSchema(input);
      const now = core.now();
      const id = newId();
      const text = JSON.stringify(schema);
      const row = { id, name, version: 1, schema: text, created_at: now, updated_at: now };
      try {
        return await db.write(async (tx) => {
          const s = await core.scope(tx, tenantId);
          await store.insertCollection(s, row, { collection_id: id, version: 1, schema: text, created_at: now, created_by: actorText(ctx) });
          await audit.record(tx, ctx, vaultEvent('vault.collection.create', ACTIVITY.CREATE, tenantId, { type: 'collection', id }, { name, version: 1, fields: Object.keys(schema.fields) }));
          const out = toCollection({ ...row, tenant_id: tenantId }, schema);
          await idempotency.remember(tx, ctx, 201, out);
          return out;
        });
      } catch (e) {
        if (db.adapter.isUniqueViolation(e)) throw vaultErrors.collectionExists(name);
        throw e;
      }
    },

    async listCollections(ctx: RequestContext, tenantId: string, opts: { limit: number; cursor?: string | undefined }): Promise<Page<Collection>> {
      await guard.assert(ctx, 'collections:read', { tenantId });
      const afterName = opts.cursor ? decodeCursor(opts.cursor, vaultErrors.badCursor) : undefined;
      const rows = await db.read(async (tx) => store.listCollections(await core.scope(tx, tenantId), { afterName, limit: opts.limit + 1 }));
      const items = rows.slice(0, opts.limit).map((r) => toCollection(r, JSON.parse(r.schema) as CollectionSchema));
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > opts.limit && last ? encodeCursor(last.name) : null };
    },

    async getCollection(ctx: RequestContext, tenantId: string, name: string): Promise<Collection> {
      await guard.assert(ctx, 'collections:read', { tenantId });
      core.forgetCollection(tenantId, name);
      const c = await core.collection(ctx, tenantId, name);
      return toCollection(c.row, c.schema);
    },

    async collectionVersions(ctx: RequestContext, tenantId: string, name: string): Promise<CollectionVersion[]> {
      await guard.assert(ctx, 'collections:read', { tenantId });
      const c = await core.collection(ctx, tenantId, name);
      const rows = await db.read(async (tx) => store.listCollectionVersions(await core.scope(tx, tenantId), c.row.id));
      return rows.map((r) => ({ version: r.version, createdAt: r.created_at, createdBy: r.created_by, ...(JSON.parse(r.schema) as CollectionSchema) }));
    },

    /** A new schema version; fields it drops are erased from every record (values, blind indexes, files) in the same unit. */
    async updateCollection(ctx: RequestContext, tenantId: string, name: string, input: unknown): Promise<Collection> {
      await guard.assert(ctx, 'collections:manage', { tenantId });
      const next = validateSchema(input);
      core.forgetCollection(tenantId, name);
      const cur = await core.collection(ctx, tenantId, name);
      const change = diffSchemas(cur.schema, next);
      const now = core.now();
      const version = cur.row.version + 1;
      const text = JSON.stringify(next);
      const out = await db.write(async (tx) => {
        const s = await core.scope(tx, tenantId);
        const moved = await store.updateCollection(s, cur.row.id, cur.row.version, { collection_id: cur.row.id, version, schema: text, created_at: now, created_by: actorText(ctx) });
        if (!moved) return null;
        const erased = change.removed.length > 0 ? await eraseFields(s, cur.row.id, change.removed) : 0;
        await store.deleteFieldIndex(s, cur.row.id, [...change.removed, ...change.unindexed]);
        const files = await store.deleteFieldFiles(s, cur.row.id, change.removed);
        await audit.record(
          tx,
          ctx,
          vaultEvent('vault.collection.update', ACTIVITY.UPDATE, tenantId, { type: 'collection', id: cur.row.id }, {
            name,
            from: cur.row.version,
            version,
            added: change.added,
            removed: change.removed,
            unindexed: change.unindexed,
            recordsErased: erased,
            filesErased: files.length,
          }),
        );
        return { collection: toCollection({ ...cur.row, version, schema: text, updated_at: now }, next), blobs: files.map((f) => f.blob_id) };
      });
      core.forgetCollection(tenantId, name);
      if (!out) throw vaultErrors.collectionConflict(name);
      await core.dropBlobs(out.blobs);
      return out.collection;
    },

    /** Deletes an empty collection and its history (409 while it holds records). */
    async deleteCollection(ctx: RequestContext, tenantId: string, name: string): Promise<void> {
      await guard.assert(ctx, 'collections:manage', { tenantId });
      const cur = await core.collection(ctx, tenantId, name);
      await db.write(async (tx) => {
        const s = await core.scope(tx, tenantId);
        const n = await store.countRecords(s, cur.row.id);
        if (n > 0) throw vaultErrors.collectionNotEmpty(name, n);
        await store.deleteCollection(s, cur.row.id);
        await audit.record(tx, ctx, vaultEvent('vault.collection.delete', ACTIVITY.DELETE, tenantId, { type: 'collection', id: cur.row.id }, { name, version: cur.row.version }));
      });
      core.forgetCollection(tenantId, name);
    },
  };
}
