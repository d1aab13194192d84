import { purposesOf } from '../access/index.js';
import { ACTIVITY } from '../audit/index.js';
import type { RequestContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { decodeCursor, encodeCursor, type Page } from '../shared/pagination.js';
import { indexFields, openFields, type Scalar } from './codec.js';
import { vaultEvent, type LoadedCollection, type VaultCore } from './core.js';
import { vaultErrors } from './errors.js';
import { normalise } from './normalise.js';
import * as store from './store.js';
import type { CollectionSchema, Duplicate, FieldValue, ReadOptions, SubjectView, VaultRecord } from './types.js';

/** Which requested fields this caller may have for this reason (need to know, M66). */
export interface ReadPlan {
  requested: string[];
  /** Personal fields to open. */
  open: string[];
  /** Fields read from the plain part: non-personal ones, and file references the caller may have. */
  plain: string[];
  /** Requested personal fields the reason or the caller's purposes do not cover. */
  denied: Set<string>;
}

/** A record-id cursor (an id this API issued). */
function afterIdOf(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const id = decodeCursor(cursor, vaultErrors.badCursor);
  if (!isUuid(id)) throw vaultErrors.badCursor();
  return id;
}

export function planRead(ctx: RequestContext, tenantId: string, col: LoadedCollection, opts: ReadOptions): ReadPlan {
  const schema = col.schema;
  const requested = opts.fields && opts.fields.length > 0 ? [...new Set(opts.fields)] : Object.keys(schema.fields);
  const unknown = requested.filter((f) => !Object.hasOwn(schema.fields, f));
  if (unknown.length > 0) throw vaultErrors.fieldsNotInSchema(col.row.name, unknown);
  const held = opts.reason ? purposesOf(ctx.actor, { tenantId }) : new Set<string>();
  const plan: ReadPlan = { requested, open: [], plain: [], denied: new Set() };
  for (const f of requested) {
    const def = schema.fields[f];
    if (!def) continue;
    const allowed = !def.personal || (opts.reason !== undefined && held.has(opts.reason) && (def.purposes as readonly string[]).includes(opts.reason));
    // File fields hold a reference (id, type, size) in the plain part; their content is read through the files route.
    if (!allowed) plan.denied.add(f);
    else if (def.personal && def.type !== 'file') plan.open.push(f);
    else plan.plain.push(f);
  }
  return plan;
}

/** One record as the plan allows; `erased` when its subject's key was destroyed. */
async function present(core: VaultCore, col: LoadedCollection, row: store.RecordRow, plan: ReadPlan): Promise<VaultRecord> {
  const sealed = JSON.parse(row.sealed) as Record<string, string>;
  const plainAll = JSON.parse(row.plain) as Record<string, Scalar>;
  const base = { id: row.id, collection: col.row.name, subjectId: row.subject_id, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
  const toOpen = plan.open.filter((f) => f in sealed);
  // With nothing to open, the subject field is opened and dropped: an erased subject shows as erased to every reader.
  const probe = toOpen.length === 0 && col.schema.subjectField in sealed ? [col.schema.subjectField] : [];
  let opened: Record<string, Scalar>;
  try {
    opened = await openFields(core.keys, row.tenant_id, col.row.name, row.id, sealed, toOpen.length > 0 ? toOpen : probe);
  } catch (e) {
    if (isCustosError(e) && e.code === 'KEY_DESTROYED') return { ...base, erased: true, fields: {}, withheld: [] };
    throw e;
  }
  const fields: Record<string, FieldValue> = {};
  for (const f of plan.plain) if (f in plainAll) fields[f] = plainAll[f] as Scalar;
  for (const f of toOpen) fields[f] = opened[f] as Scalar;
  const withheld = [...plan.denied].filter((f) => f in sealed || f in plainAll);
  return { ...base, erased: false, fields, withheld };
}

function auditDetails(collection: string | string[], reason: string | undefined, plan: { requested: string[] }, records: VaultRecord[], qualify = false) {
  const returned = new Set<string>();
  for (const r of records) for (const f of Object.keys(r.fields)) returned.add(qualify ? `${r.collection}.${f}` : f);
  return {
    collection,
    reason: reason ?? null,
    requested: plan.requested,
    returned: [...returned].sort(),
    records: records.map((r) => r.id),
    erased: records.filter((r) => r.erased).map((r) => r.id),
  };
}

/** Normalised equality conditions → blind indexes (search values never leave this function). */
async function whereIndexes(core: VaultCore, ctx: RequestContext, tenantId: string, col: LoadedCollection, where: Record<string, unknown>) {
  const schema: CollectionSchema = col.schema;
  const names = Object.keys(where);
  if (names.length === 0) throw vaultErrors.valuesInvalid([{ path: 'where', message: 'name at least one field' }]);
  const unknown = names.filter((f) => !Object.hasOwn(schema.fields, f));
  if (unknown.length > 0) throw vaultErrors.fieldsNotInSchema(col.row.name, unknown);
  const notSearchable = names.filter((f) => !schema.fields[f]?.searchable);
  if (notSearchable.length > 0) throw vaultErrors.notSearchable(notSearchable);
  const values: Record<string, Scalar> = {};
  const errors: Array<{ path: string; message: string }> = [];
  for (const f of names) {
    const n = normalise(where[f], schema.fields[f] as NonNullable<(typeof schema.fields)[string]>);
    if (n.ok) values[f] = n.value;
    else errors.push({ path: `where.${f}`, message: n.message });
  }
  if (errors.length > 0) throw vaultErrors.valuesInvalid(errors);
  return indexFields(core.keys, tenantId, col.row.name, schema, values, ctx);
}

export function recordReadOps(core: VaultCore) {
  const { db, audit, guard } = core;
  const readAudit = (ctx: RequestContext, tenantId: string, action: string, target: { type: string; id: string }, details: Parameters<typeof vaultEvent>[4]) =>
    db.write((tx) => audit.record(tx, ctx, vaultEvent(action, ACTIVITY.READ, tenantId, target, details)));

  async function presentPage(ctx: RequestContext, tenantId: string, col: LoadedCollection, rows: store.RecordRow[], opts: ReadOptions & { limit: number }, extra: Record<string, string[]> = {}) {
    const plan = planRead(ctx, tenantId, col, opts);
    const items = await Promise.all(rows.slice(0, opts.limit).map((r) => present(core, col, r, plan)));
    await readAudit(ctx, tenantId, 'vault.record.read', { type: 'collection', id: col.row.id }, { ...auditDetails(col.row.name, opts.reason, plan, items), ...extra });
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > opts.limit && last ? encodeCursor(last.id) : null };
  }

  return {
    /** One record; 410 VAULT_RECORD_ERASED when its subject was crypto-shredded. Audited with fields requested and returned. */
    async get(ctx: RequestContext, tenantId: string, name: string, id: string, opts: ReadOptions): Promise<VaultRecord> {
      await guard.assert(ctx, 'records:read', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      const plan = planRead(ctx, tenantId, col, opts);
      const row = await core.record(ctx, tenantId, col, id);
      const rec = await present(core, col, row, plan);
      await readAudit(ctx, tenantId, 'vault.record.read', { type: 'record', id }, auditDetails(name, opts.reason, plan, [rec]));
      if (rec.erased) throw vaultErrors.recordErased(id);
      return rec;
    },

    async list(ctx: RequestContext, tenantId: string, name: string, opts: ReadOptions & { limit: number; cursor?: string | undefined }): Promise<Page<VaultRecord>> {
      await guard.assert(ctx, 'records:read', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      planRead(ctx, tenantId, col, opts);
      const afterId = afterIdOf(opts.cursor);
      const rows = await db.read(async (tx) => store.listRecords(await core.scope(tx, tenantId), col.row.id, { afterId, limit: opts.limit + 1 }));
      return presentPage(ctx, tenantId, col, rows, opts);
    },

    /** Equality search (AND) over searchable fields through their blind indexes; never crosses tenants or collections. */
    async search(
      ctx: RequestContext,
      tenantId: string,
      name: string,
      where: Record<string, unknown>,
      opts: ReadOptions & { limit: number; cursor?: string | undefined },
    ): Promise<Page<VaultRecord>> {
      await guard.assert(ctx, 'records:read', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      planRead(ctx, tenantId, col, opts);
      const afterId = afterIdOf(opts.cursor) ?? '';
      const conds = await whereIndexes(core, ctx, tenantId, col, where);
      const rows = await db.read(async (tx) => {
        const s = await core.scope(tx, tenantId);
        let ids: string[] | undefined;
        for (const c of conds) {
          const hit = await store.indexLookup(s, col.row.id, c.field, c.hmac, 10_000);
          ids = ids ? ids.filter((x) => hit.includes(x)) : hit;
        }
        const page = (ids ?? []).filter((x) => x > afterId).slice(0, opts.limit + 1);
        return store.findRecords(s, col.row.id, page);
      });
      return presentPage(ctx, tenantId, col, rows, opts, { where: conds.map((c) => c.field) });
    },

    /** Records of other subjects in the collection sharing a blind-indexed value with this one (probable duplicates, M67). */
    async duplicates(ctx: RequestContext, tenantId: string, name: string, id: string): Promise<Duplicate[]> {
      await guard.assert(ctx, 'records:read', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      const found = await db.read(async (tx) => {
        const s = await core.scope(tx, tenantId);
        const row = await store.findRecord(s, col.row.id, id);
        if (!row) return undefined;
        return store.sharedIndexRows(s, col.row.id, await store.recordIndexRows(s, id), row.subject_id);
      });
      if (!found) throw await guard.scopeMiss(ctx, { tenantId, type: 'record', id });
      const by = new Map<string, Duplicate>();
      for (const r of found) {
        const d = by.get(r.record_id) ?? { recordId: r.record_id, subjectId: r.subject_id, matchedFields: [] };
        if (!d.matchedFields.includes(r.field)) d.matchedFields.push(r.field);
        by.set(r.record_id, d);
      }
      const out = [...by.values()].sort((a, b) => b.matchedFields.length - a.matchedFields.length || a.recordId.localeCompare(b.recordId));
      await readAudit(ctx, tenantId, 'vault.record.duplicates', { type: 'record', id }, { collection: name, duplicates: out.map((d) => d.recordId) });
      return out;
    },

    /** Every record of one data subject across collections (access, portability and erasure requests build on it). */
    async subject(ctx: RequestContext, tenantId: string, subjectId: string, opts: ReadOptions): Promise<SubjectView> {
      await guard.assert(ctx, 'records:read', { tenantId });
      const found = await db.read(async (tx) => {
        const s = await core.scope(tx, tenantId);
        const rows = await store.subjectRecords(s, subjectId);
        const known = rows.length > 0 || (await store.subjectExists(s, subjectId));
        return known ? { rows, cols: await store.findCollectionsById(s, [...new Set(rows.map((r) => r.collection_id))]) } : undefined;
      });
      if (!found) throw await guard.scopeMiss(ctx, { tenantId, type: 'subject', id: subjectId });
      const records: VaultRecord[] = [];
      const requested = new Set<string>();
      for (const c of found.cols) {
        const col = { row: c, schema: JSON.parse(c.schema) as CollectionSchema };
        const plan = planRead(ctx, tenantId, col, { reason: opts.reason });
        plan.requested.forEach((f) => requested.add(`${c.name}.${f}`));
        const rows = found.rows.filter((r) => r.collection_id === c.id);
        records.push(...(await Promise.all(rows.map((r) => present(core, col, r, plan)))));
      }
      const details = auditDetails(found.cols.map((c) => c.name), opts.reason, { requested: [...requested] }, records, true);
      await readAudit(ctx, tenantId, 'vault.subject.read', { type: 'subject', id: subjectId }, details);
      return { subjectId, records };
    },
  };
}
