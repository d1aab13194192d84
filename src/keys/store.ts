import { sql, type Kysely } from 'kysely';
import type { Tx } from '../db/index.js';
import type { ErasureLedgerTable, KeySeriesTable, KeyStoreDatabase, KeyVersionsTable, RewrapJobsTable } from '../db/types.js';
import { ROOT_SERIES } from './types.js';

/**
 * The only file that reaches the key store. Every query goes through
 * `tx.withSchema(adapter.keyStoreSchema)`: the attached keystore.db on SQLite,
 * the custos_keys schema on PostgreSQL.
 */
export type KeyStore = Kysely<KeyStoreDatabase>;
export type SeriesRow = KeySeriesTable;
export type VersionRow = KeyVersionsTable;
export type LedgerRow = ErasureLedgerTable;
export type JobRow = RewrapJobsTable;

/** Names one series (a SeriesRef, or a series row). */
export interface SeriesKey {
  readonly owner: string;
  readonly purpose: string;
  readonly ref: string;
}

export function keyStore(tx: Tx, schema: string): KeyStore {
  return tx.withSchema(schema) as unknown as KeyStore;
}

/** The equality conditions naming one series (for `eb.and`). */
function series(s: SeriesKey): { owner: string; purpose: string; ref: string } {
  return { owner: s.owner, purpose: s.purpose, ref: s.ref };
}

export async function findSeries(k: KeyStore, s: SeriesKey): Promise<SeriesRow | undefined> {
  return k.selectFrom('key_series').selectAll().where((eb) => eb.and(series(s))).executeTakeFirst();
}

/** Inserts the series unless it exists; true when this call created it. */
export async function insertSeries(k: KeyStore, row: SeriesRow): Promise<boolean> {
  const r = await k.insertInto('key_series').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Moves the series to `to` only if it is still at `from` (optimistic); true on success. */
export async function advanceSeries(k: KeyStore, s: SeriesKey, from: number, to: number, now: string): Promise<boolean> {
  const r = await k
    .updateTable('key_series')
    .set({ current_version: to, updated_at: now })
    .where((eb) => eb.and(series(s)))
    .where('current_version', '=', from)
    .where('destroyed_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function setMinVersion(k: KeyStore, s: SeriesKey, min: number, now: string): Promise<void> {
  await k.updateTable('key_series').set({ min_version: min, updated_at: now }).where((eb) => eb.and(series(s))).execute();
}

export async function findVersion(k: KeyStore, id: string): Promise<VersionRow | undefined> {
  return k.selectFrom('key_versions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findSeriesVersion(k: KeyStore, s: SeriesKey, version: number): Promise<VersionRow | undefined> {
  return k.selectFrom('key_versions').selectAll().where((eb) => eb.and(series(s))).where('version', '=', version).executeTakeFirst();
}

export async function listSeriesVersions(k: KeyStore, s: SeriesKey): Promise<VersionRow[]> {
  return k.selectFrom('key_versions').selectAll().where((eb) => eb.and(series(s))).orderBy('version').execute();
}

export async function insertVersion(k: KeyStore, row: VersionRow): Promise<void> {
  await k.insertInto('key_versions').values(row).execute();
}

/** Inserts many new series at once (a pool batch: fresh subject ids, so no conflict is expected). */
export async function insertSeriesMany(k: KeyStore, rows: readonly SeriesRow[]): Promise<void> {
  if (rows.length > 0) await k.insertInto('key_series').values([...rows]).execute();
}

/** Inserts many new versions at once (a pool batch). */
export async function insertVersionsMany(k: KeyStore, rows: readonly VersionRow[]): Promise<void> {
  if (rows.length > 0) await k.insertInto('key_versions').values([...rows]).execute();
}

/** The ids among `ids` whose version is still live (neither retired, destroyed nor wiped). */
export async function liveVersionIds(k: KeyStore, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await k.selectFrom('key_versions').select('id').where('id', 'in', ids).where('wrapped', 'is not', null).where('destroyed_at', 'is', null).execute();
  return new Set(rows.map((r) => r.id));
}

/**
 * Reserves `block` more encryptions under each live version among `ids` in
 * one statement; returns those versions (with the new high-water mark).
 * Destroyed, retired or wiped versions are left alone and not returned.
 */
export async function reserveUsageMany(k: KeyStore, ids: readonly string[], block: number): Promise<VersionRow[]> {
  if (ids.length === 0) return [];
  const rows = await k
    .updateTable('key_versions')
    .set({ usage_reserved: sql<number>`usage_reserved + ${block}` })
    .where('id', 'in', ids)
    .where('wrapped', 'is not', null)
    .where('destroyed_at', 'is', null)
    .returningAll()
    .execute();
  return rows.map((r) => ({ ...r, usage_reserved: Number(r.usage_reserved) }));
}

/** Prefix of the key_store_meta rows that mark subject keys made by the pool (src/keys/pool.ts). */
export const POOLED = 'pooled/';

/** Marks pooled subject keys (`pooled/<tenant>/<subject>` = creation time in ms): a later sweep can find orphans. */
export async function markPooled(k: KeyStore, tenantId: string, subjectIds: readonly string[], at: number): Promise<void> {
  if (subjectIds.length === 0) return;
  await k
    .insertInto('key_store_meta')
    .values(subjectIds.map((s) => ({ name: `${POOLED}${tenantId}/${s}`, value: at })))
    .execute();
}

/** Records that these pooled subject ids were handed out (value 0): a hint for a sweep, never proof of non-use. */
export async function markHandedOut(k: KeyStore, tenantId: string, subjectIds: readonly string[]): Promise<void> {
  if (subjectIds.length === 0) return;
  await k
    .updateTable('key_store_meta')
    .set({ value: 0 })
    .where(
      'name',
      'in',
      subjectIds.map((s) => `${POOLED}${tenantId}/${s}`),
    )
    .execute();
}

/** Pooled subject keys of one tenant (or all) still marked as not handed out, by subject id. */
export async function listPooled(k: KeyStore, tenantId: string | null): Promise<Array<{ tenantId: string; subjectId: string; createdAt: number }>> {
  const rows = await k
    .selectFrom('key_store_meta')
    .select(['name', 'value'])
    .where('name', 'like', `${POOLED}${tenantId === null ? '' : `${tenantId}/`}%`)
    .where('value', '>', 0)
    .orderBy('name')
    .execute();
  return rows.map((r) => {
    const rest = r.name.slice(POOLED.length);
    const slash = rest.lastIndexOf('/');
    return { tenantId: rest.slice(0, slash), subjectId: rest.slice(slash + 1), createdAt: Number(r.value) };
  });
}

/** True while the key that wraps a new key (a KEK version, or a root version) is neither retired nor destroyed. */
export async function wrapperLive(k: KeyStore, parentId: string | null, rootVersion: number | null): Promise<boolean> {
  if (parentId !== null) return (await findVersion(k, parentId))?.wrapped != null;
  const root = await k.selectFrom('key_series').select('min_version').where((eb) => eb.and(series(ROOT_SERIES))).executeTakeFirst();
  return rootVersion !== null && rootVersion >= (root?.min_version ?? 1);
}

export async function markSuperseded(k: KeyStore, id: string, now: string): Promise<void> {
  await k.updateTable('key_versions').set({ superseded_at: now }).where('id', '=', id).where('superseded_at', 'is', null).execute();
}

/**
 * Reserves `block` more encryptions under a key version and returns the new
 * high-water mark: the count is persisted before any of them happens, so it
 * never falls behind across restarts or processes.
 */
export async function reserveUsage(k: KeyStore, id: string, block: number): Promise<number> {
  const row = await k
    .updateTable('key_versions')
    .set({ usage_reserved: sql<number>`usage_reserved + ${block}` })
    .where('id', '=', id)
    .returning('usage_reserved')
    .executeTakeFirstOrThrow();
  return Number(row.usage_reserved);
}

/** Destroys the series of an owner (all, or one purpose+ref): wipes every wrapped version. Returns the version ids. */
export async function destroyKeys(k: KeyStore, owner: string, only: SeriesKey | null, now: string): Promise<string[]> {
  let q = k.selectFrom('key_versions').select('id').where('owner', '=', owner).where('destroyed_at', 'is', null);
  if (only) q = q.where('purpose', '=', only.purpose).where('ref', '=', only.ref);
  const ids = (await q.orderBy('id').execute()).map((r) => r.id);
  let v = k.updateTable('key_versions').set({ wrapped: null, destroyed_at: now }).where('owner', '=', owner).where('destroyed_at', 'is', null);
  if (only) v = v.where('purpose', '=', only.purpose).where('ref', '=', only.ref);
  await v.execute();
  let s = k.updateTable('key_series').set({ destroyed_at: now, updated_at: now }).where('owner', '=', owner).where('destroyed_at', 'is', null);
  if (only) s = s.where('purpose', '=', only.purpose).where('ref', '=', only.ref);
  await s.execute();
  return ids;
}

/** Wipes the wrapped material of retired versions. */
export async function retireVersions(k: KeyStore, ids: readonly string[], now: string): Promise<void> {
  if (ids.length === 0) return;
  await k.updateTable('key_versions').set({ wrapped: null, retired_at: now }).where('id', 'in', ids).execute();
}

/** What a rewrap job moves: keys under a root version below `target`, or a tenant's keys under a KEK other than `target`. */
export interface RewrapSelector {
  scope: 'root' | 'tenant';
  owner: string;
  target: string;
}

function candidates(k: KeyStore, sel: RewrapSelector) {
  const q = k.selectFrom('key_versions').where('wrapped', 'is not', null);
  if (sel.scope === 'root') return q.where('root_version', 'is not', null).where('root_version', '<', Number(sel.target));
  return q.where('owner', '=', sel.owner).where('parent_id', 'is not', null).where('parent_id', '<>', sel.target);
}

export async function countRewrap(k: KeyStore, sel: RewrapSelector): Promise<number> {
  const r = await candidates(k, sel).select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function nextRewrapBatch(k: KeyStore, sel: RewrapSelector, after: string | null, limit: number): Promise<VersionRow[]> {
  let q = candidates(k, sel).selectAll();
  if (after !== null) q = q.where('id', '>', after);
  return q.orderBy('id').limit(limit).execute();
}

/** Replaces a wrapped key, only if it is still the blob read (a concurrent rewrap or destroy wins). */
export async function replaceWrapped(
  k: KeyStore,
  id: string,
  expected: Uint8Array,
  next: { wrapped: Buffer; root_version: number | null; parent_id: string | null },
): Promise<boolean> {
  const r = await k.updateTable('key_versions').set(next).where('id', '=', id).where('wrapped', '=', Buffer.from(expected)).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Owners (tenants) with keys wrapped by one of their KEKs. */
export async function ownersWithWrappedChildren(k: KeyStore): Promise<string[]> {
  const rows = await k.selectFrom('key_versions').select('owner').distinct().where('parent_id', 'is not', null).where('wrapped', 'is not', null).orderBy('owner').execute();
  return rows.map((r) => r.owner);
}

export async function insertJob(k: KeyStore, row: JobRow): Promise<void> {
  await k.insertInto('rewrap_jobs').values(row).execute();
}

export async function runningJobs(k: KeyStore): Promise<JobRow[]> {
  return k.selectFrom('rewrap_jobs').selectAll().where('state', '=', 'running').orderBy('id').execute();
}

export async function listJobs(k: KeyStore, limit: number): Promise<JobRow[]> {
  return k.selectFrom('rewrap_jobs').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

export async function advanceJob(
  k: KeyStore,
  id: string,
  patch: Partial<Pick<JobRow, 'done' | 'cursor' | 'total' | 'target' | 'updated_at' | 'state' | 'finished_at'>>,
): Promise<void> {
  await k.updateTable('rewrap_jobs').set(patch).where('id', '=', id).execute();
}

export async function insertLedger(k: KeyStore, row: LedgerRow): Promise<void> {
  await k.insertInto('erasure_ledger').values(row).execute();
}

export async function listLedger(k: KeyStore, tenantId: string | null, limit: number): Promise<LedgerRow[]> {
  let q = k.selectFrom('erasure_ledger').selectAll().orderBy('id').limit(limit);
  if (tenantId !== null) q = q.where('tenant_id', '=', tenantId);
  return q.execute();
}

const GENERATION = 'generation';

/** The key store's generation: bumped by every destroy, retire and rotation, so other processes drop their caches. */
export async function readGeneration(k: KeyStore): Promise<number> {
  const r = await k.selectFrom('key_store_meta').select('value').where('name', '=', GENERATION).executeTakeFirst();
  return Number(r?.value ?? 0);
}

export async function bumpGeneration(k: KeyStore): Promise<void> {
  await k
    .insertInto('key_store_meta')
    .values({ name: GENERATION, value: 1 })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: sql<number>`key_store_meta.value + 1` }))
    .execute();
}

/** Root versions still wrapping keys, with counts. */
export async function rootVersionCounts(k: KeyStore): Promise<Array<{ version: number; n: number }>> {
  const rows = await k
    .selectFrom('key_versions')
    .select(['root_version', (e) => e.fn.countAll<number>().as('n')])
    .where('root_version', 'is not', null)
    .where('wrapped', 'is not', null)
    .groupBy('root_version')
    .execute();
  return rows.map((r) => ({ version: Number(r.root_version), n: Number(r.n) }));
}

/** Keys each parent version still wraps, for one owner (or all). */
export async function parentCounts(k: KeyStore, owner: string | null): Promise<Map<string, number>> {
  let q = k
    .selectFrom('key_versions')
    .select(['parent_id', (e) => e.fn.countAll<number>().as('n')])
    .where('parent_id', 'is not', null)
    .where('wrapped', 'is not', null);
  if (owner !== null) q = q.where('owner', '=', owner);
  const rows = await q.groupBy('parent_id').execute();
  return new Map(rows.map((r) => [r.parent_id as string, Number(r.n)]));
}

/** Every series except subject DEKs (those are counted, not listed). */
export async function listSeries(k: KeyStore, owner: string | null): Promise<SeriesRow[]> {
  let q = k.selectFrom('key_series').selectAll().where('purpose', '<>', 'subject-dek');
  if (owner !== null) q = q.where('owner', '=', owner);
  return q.orderBy('owner').orderBy('purpose').execute();
}

export async function listVersionsOf(k: KeyStore, owners: readonly string[]): Promise<VersionRow[]> {
  if (owners.length === 0) return [];
  return k.selectFrom('key_versions').selectAll().where('owner', 'in', owners).where('purpose', '<>', 'subject-dek').orderBy('version').execute();
}

export async function subjectCounts(k: KeyStore, owner: string | null): Promise<Array<{ owner: string; destroyed: boolean; n: number }>> {
  let q = k
    .selectFrom('key_series')
    .select(['owner', sql<number>`case when destroyed_at is null then 0 else 1 end`.as('destroyed'), (e) => e.fn.countAll<number>().as('n')])
    .where('purpose', '=', 'subject-dek');
  if (owner !== null) q = q.where('owner', '=', owner);
  const rows = await q.groupBy(['owner', sql`case when destroyed_at is null then 0 else 1 end`]).execute();
  return rows.map((r) => ({ owner: r.owner, destroyed: Number(r.destroyed) === 1, n: Number(r.n) }));
}
