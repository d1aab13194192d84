import { ACTIVITY } from '../audit/index.js';
import type { RequestContext } from '../shared/context.js';
import { indexFields, openFields, sealFields, subjectLookup, type Scalar } from './codec.js';
import { vaultEvent, type VaultCore } from './core.js';
import { recordCreate } from './create.js';
import { vaultErrors } from './errors.js';
import { prepareValues } from './input.js';
import { duplicateError, indexRows, isDestroyed, openRecordUnit, Retry, written, type IndexPair } from './record-rows.js';
import * as store from './store.js';
import type { VaultRecord } from './types.js';

const MAX_ATTEMPTS = 3;

export function recordWriteOps(core: VaultCore) {
  const { db, audit, guard, keys } = core;

  async function updateOnce(ctx: RequestContext, tenantId: string, name: string, id: string, input: Record<string, unknown>): Promise<VaultRecord> {
    const col = await core.collection(ctx, tenantId, name);
    const values = prepareValues(name, col.schema, input, 'update');
    const cur = await core.record(ctx, tenantId, col, id);
    const changedPersonal = { ...values.personal };
    const all = { ...values.personal, ...values.plain };
    let newSealed: Record<string, string>;
    let index: IndexPair[];
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
    // A changed subject value also finds this subject (the unit inserts its lookup unless it already names one).
    const subjectValue = values.personal[col.schema.subjectField];
    const lookup = subjectValue === undefined ? undefined : await subjectLookup(keys, tenantId, String(subjectValue), ctx);
    const newLookup = lookup !== undefined && core.cachedSubject(tenantId, lookup) === undefined ? lookup : undefined;
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
        const s = await openRecordUnit(core, tx, tenantId, col);
        if (!(await store.updateRecord(s, id, cur.updated_at, set))) throw new Retry();
        if (newLookup) await store.insertSubject(s, { lookup: newLookup, subject_id: cur.subject_id, created_at: now });
        await store.replaceIndex(s, id, reindexed, indexRows(index, col.row.id, id, cur.subject_id));
        const details = { collection: name, version: col.row.version, subjectId: cur.subject_id, fields: Object.keys(all), cleared: values.cleared };
        await audit.record(tx, ctx, vaultEvent('vault.record.update', ACTIVITY.UPDATE, tenantId, { type: 'record', id }, details));
        return written(col, { ...cur, ...set }, plain, Object.keys(sealed));
      });
    } catch (e) {
      if (e instanceof Retry) core.forgetCollection(tenantId, name);
      else if (db.adapter.isUniqueViolation(e)) throw (await duplicateError(core, tenantId, col, index, id)) ?? e;
      throw e;
    }
  }

  return {
    create: recordCreate(core),

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
