import { ACTIVITY } from '../audit/index.js';
import type { TenantScope } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { indexFields, openFields, sealFields, subjectLookup, type Scalar } from './codec.js';
import { vaultEvent, type LoadedCollection, type VaultCore } from './core.js';
import { vaultErrors } from './errors.js';
import { prepareValues } from './input.js';
import * as store from './store.js';
import type { VaultRecord } from './types.js';

/** Thrown inside a unit of work when what was prepared outside it went stale (schema or subject changed): prepare again. */
class Retry extends Error {}
const MAX_ATTEMPTS = 3;

const isDestroyed = (e: unknown) => isCustosError(e) && e.code === 'KEY_DESTROYED';

/** The collection is still at the version the values were checked against (one indexed read in the writing unit). */
async function checkVersion(s: TenantScope, col: LoadedCollection): Promise<void> {
  const cur = await store.collectionVersion(s, col.row.name);
  if (!cur || cur.id !== col.row.id || cur.version !== col.row.version) throw new Retry();
}

function indexRows(rows: Array<{ field: string; hmac: string; unique: boolean }>, collectionId: string, recordId: string, subjectId: string) {
  return rows.map((r) => ({ collection_id: collectionId, field: r.field, hmac: r.hmac, slot: r.unique ? '' : recordId, record_id: recordId, subject_id: subjectId }));
}

/** What a writer gets back: metadata and non-personal values; personal fields are named in `withheld` (idempotent replays store this). */
function written(col: LoadedCollection, row: store.RecordRow, personal: string[]): VaultRecord {
  return {
    id: row.id,
    collection: col.row.name,
    subjectId: row.subject_id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    erased: false,
    fields: JSON.parse(row.plain) as Record<string, Scalar>,
    withheld: personal,
  };
}

interface SubjectPlan {
  lookup: string;
  subjectId: string;
  /** New subject: insert the lookup row. */
  fresh: boolean;
  /** The lookup named an erased subject: point it to the new one. */
  replaces?: string | undefined;
}

async function planSubject(core: VaultCore, ctx: RequestContext, tenantId: string, value: string): Promise<SubjectPlan> {
  const lookup = await subjectLookup(core.keys, tenantId, value, ctx);
  const known = await core.subjectOf(tenantId, lookup);
  return known ? { lookup, subjectId: known, fresh: false } : { lookup, subjectId: newId(), fresh: true };
}

async function applySubject(s: TenantScope, plan: SubjectPlan, now: string): Promise<void> {
  if (plan.replaces) {
    if (!(await store.replaceSubject(s, plan.lookup, plan.replaces, plan.subjectId))) throw new Retry();
  } else if (plan.fresh && !(await store.insertSubject(s, { lookup: plan.lookup, subject_id: plan.subjectId, created_at: now }))) {
    throw new Retry();
  }
}

/** Unique fields among `pairs` that another record holds (after a unique violation: which ones). */
async function duplicateError(core: VaultCore, tenantId: string, col: LoadedCollection, pairs: Array<{ field: string; hmac: string; unique: boolean }>, recordId?: string) {
  const taken = await core.db.read(async (tx) => store.uniqueHolders(await core.scope(tx, tenantId), col.row.id, pairs.filter((p) => p.unique), recordId));
  return taken.length > 0 ? vaultErrors.duplicate(col.row.name, taken) : undefined;
}

export function recordWriteOps(core: VaultCore) {
  const { db, audit, guard, idempotency, keys } = core;

  async function createOnce(ctx: RequestContext, tenantId: string, name: string, input: Record<string, unknown>, replaceErased: boolean): Promise<VaultRecord> {
    const col = await core.collection(ctx, tenantId, name);
    const values = prepareValues(name, col.schema, input, 'create');
    let plan = await planSubject(core, ctx, tenantId, String(values.personal[col.schema.subjectField]));
    if (replaceErased && !plan.fresh) plan = { ...plan, subjectId: newId(), fresh: false, replaces: plan.subjectId };
    const id = newId();
    const all = { ...values.personal, ...values.plain };
    const [sealed, index] = await Promise.all([
      sealFields(keys, { tenantId, subjectId: plan.subjectId }, name, id, values.personal, ctx, plan.fresh || plan.replaces !== undefined),
      indexFields(keys, tenantId, name, col.schema, all, ctx),
    ]);
    const now = core.now();
    const row = { id, collection_id: col.row.id, subject_id: plan.subjectId, version: col.row.version, sealed: JSON.stringify(sealed), plain: JSON.stringify(values.plain), created_at: now, updated_at: now };
    try {
      const out = await db.write(async (tx) => {
        const s = await core.scopeOnly(tx, tenantId);
        const gate = await store.writeGate(s, name);
        // Not active: requireActive throws the tenant's own error. Gone or changed: prepare again.
        if (gate?.state !== 'active') await core.scope(tx, tenantId);
        if (!gate || gate.id !== col.row.id || gate.version !== col.row.version) throw new Retry();
        await applySubject(s, plan, now);
        await store.insertRecord(s, row, indexRows(index, col.row.id, id, plan.subjectId));
        const details = { collection: name, version: col.row.version, subjectId: plan.subjectId, fields: Object.keys(all) };
        await audit.record(tx, ctx, vaultEvent('vault.record.create', ACTIVITY.CREATE, tenantId, { type: 'record', id }, details));
        const reply = written(col, { ...row, tenant_id: tenantId }, Object.keys(values.personal));
        await idempotency.remember(tx, ctx, 201, reply);
        return reply;
      });
      core.rememberSubject(tenantId, plan.lookup, plan.subjectId);
      return out;
    } catch (e) {
      if (e instanceof Retry) {
        core.forgetCollection(tenantId, name);
        core.forgetSubject(tenantId, plan.lookup);
      } else if (db.adapter.isUniqueViolation(e)) {
        throw (await duplicateError(core, tenantId, col, index)) ?? e;
      }
      throw e;
    }
  }

  async function create(ctx: RequestContext, tenantId: string, name: string, input: Record<string, unknown>): Promise<VaultRecord> {
    await guard.assert(ctx, 'records:write', { tenantId });
    let replaceErased = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await createOnce(ctx, tenantId, name, input, replaceErased);
      } catch (e) {
        if (attempt >= MAX_ATTEMPTS) throw e instanceof Retry ? vaultErrors.conflict('new record') : e;
        // The subject this value named was crypto-shredded: the person comes back as a new subject.
        if (isDestroyed(e) && !replaceErased) replaceErased = true;
        else if (!(e instanceof Retry)) throw e;
      }
    }
  }

  async function updateOnce(ctx: RequestContext, tenantId: string, name: string, id: string, input: Record<string, unknown>): Promise<VaultRecord> {
    const col = await core.collection(ctx, tenantId, name);
    const values = prepareValues(name, col.schema, input, 'update');
    const cur = await db.read(async (tx) => store.findRecord(await core.scope(tx, tenantId), col.row.id, id));
    if (!cur) throw await guard.scopeMiss(ctx, { tenantId, type: 'record', id });
    const changedPersonal = { ...values.personal };
    const all = { ...values.personal, ...values.plain };
    let newSealed: Record<string, string>;
    let index: Array<{ field: string; hmac: string; unique: boolean }>;
    const curSealed = JSON.parse(cur.sealed) as Record<string, string>;
    // Nothing personal to seal: the subject field is opened and dropped, so an erased record refuses every update.
    const probe = Object.keys(changedPersonal).length === 0 && col.schema.subjectField in curSealed ? [col.schema.subjectField] : [];
    try {
      [newSealed, index] = await Promise.all([
        sealFields(keys, { tenantId, subjectId: cur.subject_id }, name, id, changedPersonal, ctx),
        indexFields(keys, tenantId, name, col.schema, all, ctx),
        openFields(keys, tenantId, name, id, curSealed, probe),
      ]);
    } catch (e) {
      if (isDestroyed(e)) throw vaultErrors.recordErased(id);
      throw e;
    }
    const subjectValue = values.personal[col.schema.subjectField];
    const plan = subjectValue === undefined ? undefined : await planSubject(core, ctx, tenantId, String(subjectValue));
    const sealed = { ...curSealed, ...newSealed };
    const plain = { ...(JSON.parse(cur.plain) as Record<string, Scalar>), ...values.plain };
    for (const f of values.cleared) {
      delete sealed[f];
      delete plain[f];
    }
    const touched = [...Object.keys(all), ...values.cleared];
    const reindexed = touched.filter((f) => col.schema.fields[f]?.searchable);
    const now = core.now();
    const set = { sealed: JSON.stringify(sealed), plain: JSON.stringify(plain), version: col.row.version, updated_at: now };
    try {
      return await db.write(async (tx) => {
        const s = await core.scope(tx, tenantId);
        await checkVersion(s, col);
        if (!(await store.updateRecord(s, id, cur.updated_at, set))) throw new Retry();
        // A changed subject value also finds this subject (unless it already names another one).
        if (plan?.fresh) await store.insertSubject(s, { lookup: plan.lookup, subject_id: cur.subject_id, created_at: now });
        await store.replaceIndex(s, id, reindexed, indexRows(index, col.row.id, id, cur.subject_id));
        const details = { collection: name, version: col.row.version, subjectId: cur.subject_id, fields: Object.keys(all), cleared: values.cleared };
        await audit.record(tx, ctx, vaultEvent('vault.record.update', ACTIVITY.UPDATE, tenantId, { type: 'record', id }, details));
        return written(col, { ...cur, ...set }, Object.keys(sealed));
      });
    } catch (e) {
      if (e instanceof Retry) core.forgetCollection(tenantId, name);
      else if (db.adapter.isUniqueViolation(e)) throw (await duplicateError(core, tenantId, col, index, id)) ?? e;
      throw e;
    }
  }

  return {
    create,

    /** Partial update: named fields replaced, `null` clears a non-required field; the record stays with its subject. */
    async update(ctx: RequestContext, tenantId: string, name: string, id: string, input: Record<string, unknown>): Promise<VaultRecord> {
      await guard.assert(ctx, 'records:write', { tenantId });
      for (let attempt = 1; ; attempt++) {
        try {
          return await updateOnce(ctx, tenantId, name, id, input);
        } catch (e) {
          if (!(e instanceof Retry)) throw e;
          if (attempt >= MAX_ATTEMPTS) throw vaultErrors.conflict(id);
        }
      }
    },

    async remove(ctx: RequestContext, tenantId: string, name: string, id: string): Promise<void> {
      await guard.assert(ctx, 'records:write', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      const blobs = await db.write(async (tx) => {
        const s = await core.scope(tx, tenantId);
        const cur = await store.findRecord(s, col.row.id, id);
        const files = cur ? await store.recordFiles(s, [id]) : [];
        if (!cur || !(await store.deleteRecord(s, id))) return null;
        const details = { collection: name, subjectId: cur.subject_id, files: files.map((f) => f.id) };
        await audit.record(tx, ctx, vaultEvent('vault.record.delete', ACTIVITY.DELETE, tenantId, { type: 'record', id }, details));
        return files.map((f) => f.blob_id);
      });
      if (!blobs) throw await guard.scopeMiss(ctx, { tenantId, type: 'record', id });
      await core.dropBlobs(blobs);
    },
  };
}
