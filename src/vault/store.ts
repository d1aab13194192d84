import { reusableQuery, type ReusableQuery, type TenantScope } from '../db/index.js';
import type { VaultCollectionsTable, VaultCollectionVersionsTable, VaultFilesTable, VaultIndexTable, VaultRecordsTable, VaultSubjectsTable } from './tables.js';

/** The only file of this module that builds queries; every one goes through the tenant scope. */
export type CollectionRow = VaultCollectionsTable;
export type CollectionVersionRow = VaultCollectionVersionsTable;
export type RecordRow = VaultRecordsTable;
export type IndexRow = VaultIndexTable;
export type FileRow = VaultFilesTable;
type NoTenant<T> = Omit<T, 'tenant_id'>;

// ── collections ────────────────────────────────────────────────────────────

export async function insertCollection(s: TenantScope, row: NoTenant<CollectionRow>, version: NoTenant<CollectionVersionRow>): Promise<void> {
  await s.insertInto('vault_collections', row).execute();
  await s.insertInto('vault_collection_versions', version).execute();
}

export async function findCollection(s: TenantScope, name: string): Promise<CollectionRow | undefined> {
  return s.selectFrom('vault_collections').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function findCollectionById(s: TenantScope, id: string): Promise<CollectionRow | undefined> {
  return s.selectFrom('vault_collections').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findCollectionsById(s: TenantScope, ids: string[]): Promise<CollectionRow[]> {
  if (ids.length === 0) return [];
  return s.selectFrom('vault_collections').selectAll().where('id', 'in', ids).execute();
}

export async function listCollections(s: TenantScope, opts: { afterName?: string | undefined; limit: number }): Promise<CollectionRow[]> {
  let q = s.selectFrom('vault_collections').selectAll().orderBy('name').limit(opts.limit);
  if (opts.afterName) q = q.where('name', '>', opts.afterName);
  return q.execute();
}

export async function listCollectionVersions(s: TenantScope, collectionId: string): Promise<CollectionVersionRow[]> {
  return s.selectFrom('vault_collection_versions').selectAll().where('collection_id', '=', collectionId).orderBy('version').execute();
}

/** Moves the collection from `fromVersion` to the new version; false when another writer moved it first. */
export async function updateCollection(s: TenantScope, id: string, fromVersion: number, version: NoTenant<CollectionVersionRow>): Promise<boolean> {
  const r = await s
    .updateTable('vault_collections')
    .set({ version: version.version, schema: version.schema, updated_at: version.created_at })
    .where('id', '=', id)
    .where('version', '=', fromVersion)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  await s.insertInto('vault_collection_versions', version).execute();
  return true;
}

export async function deleteCollection(s: TenantScope, id: string): Promise<boolean> {
  await s.deleteFrom('vault_collection_versions').where('collection_id', '=', id).execute();
  const r = await s.deleteFrom('vault_collections').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function countRecords(s: TenantScope, collectionId: string): Promise<number> {
  const r = await s.selectFrom('vault_records').select((eb) => eb.fn.countAll<number>().as('n')).where('collection_id', '=', collectionId).executeTakeFirst();
  return Number(r?.n ?? 0);
}

const gate = reusableQuery((db, p: { tenant: string; name: string }) =>
  db
    .selectFrom('vault_collections')
    .innerJoin('tenants', 'tenants.id', 'vault_collections.tenant_id')
    .select(['vault_collections.id', 'vault_collections.version', 'tenants.state'])
    .where('vault_collections.tenant_id', '=', p.tenant)
    .where('vault_collections.name', '=', p.name),
);

/**
 * The collection's id and version with its tenant's state, in one indexed read of the unit that
 * writes a record (a suspended tenant or a concurrent schema change is noticed there).
 */
export async function writeGate(s: TenantScope, name: string): Promise<{ id: string; version: number; state: string } | undefined> {
  return gate.executeTakeFirst(s.tx, { tenant: s.tenantId, name });
}

// ── subjects ───────────────────────────────────────────────────────────────

const subjectOfLookup = reusableQuery((db, p: { tenant: string; lookup: string }) =>
  db.selectFrom('vault_subjects').select('subject_id').where('tenant_id', '=', p.tenant).where('lookup', '=', p.lookup),
);

export async function findSubject(s: TenantScope, lookup: string): Promise<string | undefined> {
  return (await subjectOfLookup.executeTakeFirst(s.tx, { tenant: s.tenantId, lookup }))?.subject_id;
}

const subjectInsert = reusableQuery((db, p: { tenant: string; lookup: string; subject: string; at: string }) =>
  db
    .insertInto('vault_subjects')
    .values({ tenant_id: p.tenant, lookup: p.lookup, subject_id: p.subject, created_at: p.at })
    .onConflict((oc) => oc.doNothing()),
);

/** Records `lookup → subject` unless that lookup already names a subject; false then (that one wins). */
export async function insertSubject(s: TenantScope, row: NoTenant<VaultSubjectsTable>): Promise<boolean> {
  const r = await subjectInsert.executeTakeFirst(s.tx, { tenant: s.tenantId, lookup: row.lookup, subject: row.subject_id, at: row.created_at });
  return Number(r?.numInsertedOrUpdatedRows ?? 0) > 0;
}

const subjectRepoint = reusableQuery((db, p: { tenant: string; lookup: string; from: string; to: string }) =>
  db.updateTable('vault_subjects').set({ subject_id: p.to }).where('tenant_id', '=', p.tenant).where('lookup', '=', p.lookup).where('subject_id', '=', p.from),
);

/** Points `lookup` from an erased subject to a new one; false when it no longer named `fromSubject`. */
export async function replaceSubject(s: TenantScope, lookup: string, fromSubject: string, toSubject: string): Promise<boolean> {
  const r = await subjectRepoint.executeTakeFirst(s.tx, { tenant: s.tenantId, lookup, from: fromSubject, to: toSubject });
  return Number(r?.numUpdatedRows ?? 0) > 0;
}

export async function subjectExists(s: TenantScope, subjectId: string): Promise<boolean> {
  const r = await s.selectFrom('vault_subjects').select('subject_id').where('subject_id', '=', subjectId).limit(1).executeTakeFirst();
  return r !== undefined;
}

// ── records ────────────────────────────────────────────────────────────────

// A mapped copy: reusable parameters are a plain object type, which an interface is not.
const recordInsert = reusableQuery((db, p: { [K in keyof RecordRow]: RecordRow[K] }) =>
  db.insertInto('vault_records').values({
    tenant_id: p.tenant_id,
    id: p.id,
    collection_id: p.collection_id,
    subject_id: p.subject_id,
    version: p.version,
    sealed: p.sealed,
    plain: p.plain,
    created_at: p.created_at,
    updated_at: p.updated_at,
  }),
);

/** One multi-row INSERT of `n` index rows of one record (compiled once per row count). */
type IndexInsertParams = { tenant: string; collection: string; record: string; subject: string } & Record<string, string>;
const indexInserts: Array<ReusableQuery<IndexInsertParams, unknown>> = [];
function indexInsert(n: number): ReusableQuery<IndexInsertParams, unknown> {
  return (indexInserts[n] ??= reusableQuery((db, p: IndexInsertParams) =>
    db.insertInto('vault_index').values(
      Array.from({ length: n }, (_, i) => ({
        tenant_id: p.tenant,
        collection_id: p.collection,
        field: p[`f${i}`] as string,
        hmac: p[`h${i}`] as string,
        slot: p[`s${i}`] as string,
        record_id: p.record,
        subject_id: p.subject,
      })),
    ),
  ));
}

/** Index rows of one record (every row names the same collection, record and subject). */
async function insertIndexRows(s: TenantScope, rows: Array<NoTenant<IndexRow>>): Promise<void> {
  const first = rows[0];
  if (!first) return;
  const p: IndexInsertParams = { tenant: s.tenantId, collection: first.collection_id, record: first.record_id, subject: first.subject_id };
  rows.forEach((r, i) => {
    if (r.collection_id !== first.collection_id || r.record_id !== first.record_id || r.subject_id !== first.subject_id) throw new Error('index rows of one record only');
    p[`f${i}`] = r.field;
    p[`h${i}`] = r.hmac;
    p[`s${i}`] = r.slot;
  });
  await indexInsert(rows.length).execute(s.tx, p);
}

/** The record and its index rows (compiled statements: this runs once per create). */
export async function insertRecord(s: TenantScope, row: NoTenant<RecordRow>, index: Array<NoTenant<IndexRow>>): Promise<void> {
  await recordInsert.execute(s.tx, { ...row, tenant_id: s.tenantId });
  await insertIndexRows(s, index);
}

const recordById = reusableQuery((db, p: { tenant: string; collection: string; id: string }) =>
  db.selectFrom('vault_records').selectAll().where('tenant_id', '=', p.tenant).where('id', '=', p.id).where('collection_id', '=', p.collection),
);

export async function findRecord(s: TenantScope, collectionId: string, id: string): Promise<RecordRow | undefined> {
  return recordById.executeTakeFirst(s.tx, { tenant: s.tenantId, collection: collectionId, id });
}

const recordGate = reusableQuery((db, p: { tenant: string; collection: string; id: string }) =>
  db
    .selectFrom('vault_records')
    .innerJoin('tenants', 'tenants.id', 'vault_records.tenant_id')
    .selectAll('vault_records')
    .select('tenants.state as tenant_state')
    .where('vault_records.tenant_id', '=', p.tenant)
    .where('vault_records.id', '=', p.id)
    .where('vault_records.collection_id', '=', p.collection),
);

/** The record with its tenant's state in one read (a single read checks the tenant without a statement of its own). */
export async function findRecordGated(s: TenantScope, collectionId: string, id: string): Promise<(RecordRow & { tenant_state: string }) | undefined> {
  return recordGate.executeTakeFirst(s.tx, { tenant: s.tenantId, collection: collectionId, id });
}

export async function findRecords(s: TenantScope, collectionId: string, ids: string[]): Promise<RecordRow[]> {
  if (ids.length === 0) return [];
  return s.selectFrom('vault_records').selectAll().where('collection_id', '=', collectionId).where('id', 'in', ids).orderBy('id').execute();
}

export async function listRecords(s: TenantScope, collectionId: string, opts: { afterId?: string | undefined; limit: number }): Promise<RecordRow[]> {
  let q = s.selectFrom('vault_records').selectAll().where('collection_id', '=', collectionId).orderBy('id').limit(opts.limit);
  if (opts.afterId) q = q.where('id', '>', opts.afterId);
  return q.execute();
}

export async function subjectRecords(s: TenantScope, subjectId: string): Promise<RecordRow[]> {
  return s.selectFrom('vault_records').selectAll().where('subject_id', '=', subjectId).orderBy('id').limit(10_000).execute();
}

/** Replaces the record's data if it is still the version read (`updatedAt`); false otherwise. */
export async function updateRecord(
  s: TenantScope,
  id: string,
  updatedAt: string,
  set: Pick<RecordRow, 'sealed' | 'plain' | 'version' | 'updated_at'>,
): Promise<boolean> {
  const r = await s.updateTable('vault_records').set(set).where('id', '=', id).where('updated_at', '=', updatedAt).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteRecord(s: TenantScope, id: string): Promise<boolean> {
  await s.deleteFrom('vault_index').where('record_id', '=', id).execute();
  await s.deleteFrom('vault_files').where('record_id', '=', id).execute();
  const r = await s.deleteFrom('vault_records').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Records of the collection in id order (for schema changes that rewrite them). */
export async function recordPage(s: TenantScope, collectionId: string, afterId: string, limit: number): Promise<Array<Pick<RecordRow, 'id' | 'sealed' | 'plain'>>> {
  return s.selectFrom('vault_records').select(['id', 'sealed', 'plain']).where('collection_id', '=', collectionId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

export async function rewriteRecordData(s: TenantScope, id: string, sealed: string, plain: string): Promise<void> {
  await s.updateTable('vault_records').set({ sealed, plain }).where('id', '=', id).execute();
}

// ── blind index ────────────────────────────────────────────────────────────

export async function replaceIndex(s: TenantScope, recordId: string, fields: string[], rows: Array<NoTenant<IndexRow>>): Promise<void> {
  if (fields.length > 0) await s.deleteFrom('vault_index').where('record_id', '=', recordId).where('field', 'in', fields).execute();
  await insertIndexRows(s, rows);
}

export async function deleteFieldIndex(s: TenantScope, collectionId: string, fields: string[]): Promise<void> {
  if (fields.length === 0) return;
  await s.deleteFrom('vault_index').where('collection_id', '=', collectionId).where('field', 'in', fields).execute();
}

export async function deleteFieldFiles(s: TenantScope, collectionId: string, fields: string[]): Promise<FileRow[]> {
  if (fields.length === 0) return [];
  const rows = await s.selectFrom('vault_files').selectAll().where('collection_id', '=', collectionId).where('field', 'in', fields).execute();
  if (rows.length > 0) await s.deleteFrom('vault_files').where('collection_id', '=', collectionId).where('field', 'in', fields).execute();
  return rows;
}

/**
 * Record ids holding `hmac` in `field` (equality search), ascending. Ordered
 * by the primary key's last column (slot: '' for a unique field's single row,
 * else the record id), so the lookup is a primary-key range: ORDER BY
 * record_id made SQLite's planner walk the (tenant_id, record_id) index over
 * every index row of the tenant instead (search latency grew with the
 * tenant's records: 42 ms at 100k). Sorted here too, for a field whose
 * uniqueness changed and holds rows of both kinds.
 */
export async function indexLookup(s: TenantScope, collectionId: string, field: string, hmac: string, limit: number): Promise<string[]> {
  const rows = await s
    .selectFrom('vault_index')
    .select('record_id')
    .where('collection_id', '=', collectionId)
    .where('field', '=', field)
    .where('hmac', '=', hmac)
    .orderBy('slot')
    .limit(limit)
    .execute();
  return rows.map((r) => r.record_id).sort();
}

/** Who already holds these unique values (other than `exceptRecord`). */
export async function uniqueHolders(s: TenantScope, collectionId: string, pairs: Array<{ field: string; hmac: string }>, exceptRecord?: string): Promise<string[]> {
  const taken: string[] = [];
  for (const p of pairs) {
    const r = await s
      .selectFrom('vault_index')
      .select('record_id')
      .where('collection_id', '=', collectionId)
      .where('field', '=', p.field)
      .where('hmac', '=', p.hmac)
      .where('slot', '=', '')
      .executeTakeFirst();
    if (r && r.record_id !== exceptRecord) taken.push(p.field);
  }
  return taken;
}

export async function recordIndexRows(s: TenantScope, recordId: string): Promise<IndexRow[]> {
  return s.selectFrom('vault_index').selectAll().where('record_id', '=', recordId).execute();
}

/** Index rows of other subjects sharing any (field, hmac) of `rows` (the duplicate report). */
export async function sharedIndexRows(s: TenantScope, collectionId: string, rows: IndexRow[], subjectId: string): Promise<IndexRow[]> {
  const out: IndexRow[] = [];
  for (const r of rows) {
    const hits = await s
      .selectFrom('vault_index')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('field', '=', r.field)
      .where('hmac', '=', r.hmac)
      .where('subject_id', '<>', subjectId)
      .limit(100)
      .execute();
    out.push(...hits);
  }
  return out;
}

// ── files ──────────────────────────────────────────────────────────────────

export async function recordFiles(s: TenantScope, recordIds: string[]): Promise<FileRow[]> {
  if (recordIds.length === 0) return [];
  return s.selectFrom('vault_files').selectAll().where('record_id', 'in', recordIds).execute();
}

export async function findFile(s: TenantScope, recordId: string, field: string): Promise<FileRow | undefined> {
  return s.selectFrom('vault_files').selectAll().where('record_id', '=', recordId).where('field', '=', field).executeTakeFirst();
}

/** Sets (or with `file` null, removes) the file of a record field: the vault_files row and the record's reference. */
export async function setFile(s: TenantScope, record: RecordRow, field: string, file: NoTenant<FileRow> | null, ref: unknown, now: string): Promise<void> {
  await s.deleteFrom('vault_files').where('record_id', '=', record.id).where('field', '=', field).execute();
  if (file) await s.insertInto('vault_files', file).execute();
  const plain = JSON.parse(record.plain) as Record<string, unknown>;
  if (file) plain[field] = ref;
  else delete plain[field];
  await s.updateTable('vault_records').set({ plain: JSON.stringify(plain), updated_at: now }).where('id', '=', record.id).execute();
}
