import { ACTIVITY } from '../audit/index.js';
import type { TenantScope } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { indexFields, sealFields, subjectLookup } from './codec.js';
import { vaultEvent, type VaultCore } from './core.js';
import { vaultErrors } from './errors.js';
import { prepareValues } from './input.js';
import { duplicateError, indexRows, isDestroyed, openRecordUnit, Retry, written } from './record-rows.js';
import * as store from './store.js';
import type { VaultRecord } from './types.js';

/**
 * How a new record's subject is known, and what its unit of work does about the lookup row:
 * - `cached`: the subject cache names it (nothing to write; an erased one fails the seal);
 * - `named`: an earlier attempt read it from the lookup row; the unit reads the row again to confirm;
 * - `fresh`: no subject known, an allocated id: the unit inserts the lookup row, and when another
 *   subject got there first (a concurrent create, or a value the cache did not hold) it reads that
 *   one and the create starts again with it — no read before the unit for a brand-new value;
 * - `replace`: the subject the lookup named was crypto-shredded; the unit repoints the row to an
 *   allocated id if it still names the erased one.
 */
type SubjectPlan = { lookup: string; subjectId: string } & (
  | { how: 'cached' | 'named' | 'fresh' }
  | { how: 'replace'; replaces: string }
);

/** What earlier attempts of one create learned about its subject. */
interface Learned {
  /** The lookup row named this subject (read in a unit that then retried). */
  named?: string | undefined;
  /** This subject's key was destroyed: the person comes back as a new subject. */
  erased?: string | undefined;
}

/** A seal failed because the planned subject was crypto-shredded. */
class Erased extends Error {
  constructor(readonly subjectId: string) {
    super('subject erased');
  }
}

/** Fresh-subject guesses cost an attempt when the value was known after all: a conflict, then an erased subject, then a race. */
const MAX_ATTEMPTS = 5;

async function planSubject(core: VaultCore, ctx: RequestContext, tenantId: string, lookup: string, learned: Learned): Promise<SubjectPlan> {
  if (learned.erased) return { lookup, subjectId: await core.keys.allocateSubject(tenantId, ctx), how: 'replace', replaces: learned.erased };
  if (learned.named) return { lookup, subjectId: learned.named, how: 'named' };
  const cached = core.cachedSubject(tenantId, lookup);
  if (cached) return { lookup, subjectId: cached, how: 'cached' };
  return { lookup, subjectId: await core.keys.allocateSubject(tenantId, ctx), how: 'fresh' };
}

/** Inside the unit: makes the lookup row name the planned subject, or throws Retry with the one it names. */
async function applySubject(s: TenantScope, plan: SubjectPlan, now: string): Promise<void> {
  switch (plan.how) {
    case 'cached':
      return;
    case 'named': {
      const found = await store.findSubject(s, plan.lookup);
      if (found !== plan.subjectId) throw new Retry(found);
      return;
    }
    case 'fresh':
      if (await store.insertSubject(s, { lookup: plan.lookup, subject_id: plan.subjectId, created_at: now })) return;
      throw new Retry(await store.findSubject(s, plan.lookup));
    case 'replace':
      if (!(await store.replaceSubject(s, plan.lookup, plan.replaces, plan.subjectId))) throw new Retry();
      return;
  }
}

/** Record creation: values normalised, sealed and indexed outside the unit; one unit writes subject, record, index rows, audit and reply. */
export function recordCreate(core: VaultCore) {
  const { db, audit, guard, idempotency, keys } = core;

  async function createOnce(ctx: RequestContext, tenantId: string, name: string, input: Record<string, unknown>, learned: Learned): Promise<VaultRecord> {
    const col = await core.collection(ctx, tenantId, name);
    const values = prepareValues(name, col.schema, input, 'create');
    const all = { ...values.personal, ...values.plain };
    const [lookup, index] = await Promise.all([
      subjectLookup(keys, tenantId, String(values.personal[col.schema.subjectField]), ctx),
      indexFields(keys, tenantId, name, col.schema, all, ctx),
    ]);
    const plan = await planSubject(core, ctx, tenantId, lookup, learned);
    const allocated = plan.how === 'fresh' || plan.how === 'replace';
    // Set as the unit's last step: an allocated id is given back only if its unit failed (rolled back, surely not kept);
    // a unit that finished and then failed to commit leaks its id instead (an unused key) rather than risk handing out a used one.
    let unitDone = false;
    try {
      const id = newId();
      const sealed = await sealFields(keys, { tenantId, subjectId: plan.subjectId }, name, id, values.personal, ctx).catch((e: unknown) => {
        throw isDestroyed(e) && !allocated ? new Erased(plan.subjectId) : e;
      });
      const now = core.now();
      const row = { id, collection_id: col.row.id, subject_id: plan.subjectId, version: col.row.version, sealed: JSON.stringify(sealed), plain: JSON.stringify(values.plain), created_at: now, updated_at: now };
      const out = await db.write(async (tx) => {
        const s = await openRecordUnit(core, tx, tenantId, col);
        await applySubject(s, plan, now);
        await store.insertRecord(s, row, indexRows(index, col.row.id, id, plan.subjectId));
        const details = { collection: name, version: col.row.version, subjectId: plan.subjectId, fields: Object.keys(all) };
        await audit.record(tx, ctx, vaultEvent('vault.record.create', ACTIVITY.CREATE, tenantId, { type: 'record', id }, details));
        const reply = written(col, row, values.plain, Object.keys(values.personal));
        await idempotency.remember(tx, ctx, 201, reply);
        unitDone = true;
        return reply;
      });
      core.rememberSubject(tenantId, lookup, plan.subjectId);
      return out;
    } catch (e) {
      if (e instanceof Retry) {
        if (e.named === undefined) core.forgetCollection(tenantId, name);
        core.forgetSubject(tenantId, lookup);
      } else if (db.adapter.isUniqueViolation(e)) {
        throw (await duplicateError(core, tenantId, col, index)) ?? e;
      }
      throw e;
    } finally {
      if (allocated && !unitDone) keys.releaseSubject(tenantId, plan.subjectId);
    }
  }

  /** Creates a record; the subject is found (or made) from the normalised subject-field value. */
  return async function create(ctx: RequestContext, tenantId: string, name: string, input: Record<string, unknown>): Promise<VaultRecord> {
    await guard.assert(ctx, 'records:write', { tenantId });
    let learned: Learned = {};
    for (let attempt = 1; ; attempt++) {
      try {
        return await createOnce(ctx, tenantId, name, input, learned);
      } catch (e) {
        if (e instanceof Erased) learned = { erased: e.subjectId };
        else if (e instanceof Retry) learned = { named: e.named };
        else throw e;
        if (attempt >= MAX_ATTEMPTS) throw vaultErrors.conflict('new record');
      }
    }
  };
}
