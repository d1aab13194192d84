import type { Tx, TenantScope } from '../db/index.js';
import { isCustosError } from '../shared/errors.js';
import type { Scalar } from './codec.js';
import type { LoadedCollection, VaultCore } from './core.js';
import { vaultErrors } from './errors.js';
import * as store from './store.js';
import type { VaultRecord } from './types.js';

/**
 * Thrown inside a unit of work when what was prepared outside it went stale (schema or subject
 * changed): prepare again. `named` is the subject the lookup turned out to name, when one was read.
 */
export class Retry extends Error {
  constructor(readonly named?: string) {
    super('prepare again');
  }
}

export const isDestroyed = (e: unknown): boolean => isCustosError(e) && e.code === 'KEY_DESTROYED';

export type IndexPair = { field: string; hmac: string; unique: boolean };

export function indexRows(rows: IndexPair[], collectionId: string, recordId: string, subjectId: string) {
  return rows.map((r) => ({ collection_id: collectionId, field: r.field, hmac: r.hmac, slot: r.unique ? '' : recordId, record_id: recordId, subject_id: subjectId }));
}

/**
 * The tenant scope of a unit that writes a record of `col`, after one indexed read checks both the
 * tenant's state and the collection version the values were prepared against: a tenant that is not
 * active throws its own error; a collection gone or changed throws Retry.
 */
export async function openRecordUnit(core: VaultCore, tx: Tx, tenantId: string, col: LoadedCollection): Promise<TenantScope> {
  const s = await core.scopeOnly(tx, tenantId);
  const gate = await store.writeGate(s, col.row.name);
  if (gate?.state !== 'active') await core.scope(tx, tenantId);
  if (!gate || gate.id !== col.row.id || gate.version !== col.row.version) throw new Retry();
  return s;
}

/** What a writer gets back: metadata and non-personal values; personal fields are named in `withheld` (idempotent replays store this). */
export function written(col: LoadedCollection, row: Omit<store.RecordRow, 'tenant_id' | 'sealed' | 'plain'>, plain: Record<string, Scalar>, personal: string[]): VaultRecord {
  return {
    id: row.id,
    collection: col.row.name,
    subjectId: row.subject_id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    erased: false,
    fields: plain,
    withheld: personal,
  };
}

/** Unique fields among `pairs` that another record holds (after a unique violation: which ones). */
export async function duplicateError(core: VaultCore, tenantId: string, col: LoadedCollection, pairs: IndexPair[], recordId?: string) {
  const taken = await core.db.read(async (tx) => store.uniqueHolders(await core.scope(tx, tenantId), col.row.id, pairs.filter((p) => p.unique), recordId));
  return taken.length > 0 ? vaultErrors.duplicate(col.row.name, taken) : undefined;
}
