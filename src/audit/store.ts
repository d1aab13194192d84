/**
 * Storage of the sequenced audit log: entries, Merkle nodes, checkpoints,
 * prune floors and state. The only audit file that queries these tables;
 * it returns rows and never decides anything.
 */
import { CompiledQuery, type Insertable, type Selectable } from 'kysely';
import type { Tx } from '../db/index.js';
import type { AuditCheckpointsTable, AuditEntriesTable, Database } from '../db/types.js';
import { merkleRoot, type NodeId, type NodeReader, type TreeNode } from './log/index.js';

export type EntryRow = Selectable<AuditEntriesTable>;
export type NewEntry = Insertable<AuditEntriesTable>;
export type CheckpointRow = Selectable<AuditCheckpointsTable>;

/** Largest multi-row INSERT: 256 rows of 14 columns stay far below both dialects' parameter limits. */
const MAX_ROWS = 256;
const ENTRY_COLUMNS = [
  'idx', 'event_id', 'recorded_at', 'tenant_id', 'class_uid', 'activity_id', 'action',
  'actor_type', 'actor_id', 'target_type', 'target_id', 'outcome', 'event', 'leaf_hash',
] as const satisfies ReadonlyArray<keyof NewEntry>;
const NODE_COLUMNS = ['level', 'idx', 'hash'] as const;

/** SQL of a multi-row INSERT per dialect, table and row count. */
const insertSql = new WeakMap<object, Map<string, string>>();

/**
 * Inserts `rows` in multi-row INSERTs of power-of-two sizes (at most
 * MAX_ROWS): building and compiling a Kysely query of hundreds of rows costs
 * more than running it, so each size's SQL is compiled through Kysely once
 * per dialect and then reused, and only log2(MAX_ROWS) + 1 texts per table
 * ever reach the statement cache. The text is kept only if Kysely's
 * parameters are exactly the rows' values in `columns` order.
 */
async function insertRows<T extends 'audit_entries' | 'audit_nodes'>(
  tx: Tx,
  table: T,
  columns: readonly (keyof Insertable<Database[T]> & string)[],
  rows: readonly Insertable<Database[T]>[],
): Promise<void> {
  const dialect = tx.getExecutor().adapter.constructor;
  let texts = insertSql.get(dialect);
  if (!texts) insertSql.set(dialect, (texts = new Map()));
  for (let i = 0; i < rows.length; ) {
    let n = MAX_ROWS;
    while (n > rows.length - i) n /= 2;
    const params: unknown[] = [];
    for (let r = i; r < i + n; r++) {
      const row = rows[r] as Record<string, unknown>;
      for (const c of columns) params.push(row[c] ?? null);
    }
    const key = `${table}/${n}`;
    const text = texts.get(key);
    if (text !== undefined) {
      await tx.executeQuery(CompiledQuery.raw(text, params));
    } else {
      const normalised = rows.slice(i, i + n).map((r) => Object.fromEntries(columns.map((c) => [c, (r as Record<string, unknown>)[c] ?? null])));
      // Kysely's generics cannot follow a table name held in a type parameter.
      const compiled = tx.insertInto(table as 'audit_nodes').values(normalised as never).compile();
      if (compiled.parameters.length === params.length && params.every((v, k) => v === compiled.parameters[k])) texts.set(key, compiled.sql);
      await tx.executeQuery(compiled);
    }
    i += n;
  }
}

/** Entries as given (the row-by-row sequencer path; the usual one moves rows inside the database). */
export async function insertEntries(tx: Tx, rows: readonly NewEntry[]): Promise<void> {
  await insertRows(tx, 'audit_entries', ENTRY_COLUMNS, rows);
}

/** Interior nodes, written once each. */
export async function insertNodes(tx: Tx, nodes: readonly TreeNode[]): Promise<void> {
  await insertRows(tx, 'audit_nodes', NODE_COLUMNS, nodes.map((n) => ({ level: n.level, idx: n.index, hash: n.hash })));
}

export async function insertCheckpoint(tx: Tx, row: CheckpointRow): Promise<void> {
  await tx.insertInto('audit_checkpoints').values(row).execute();
}

/** The prune floor: entries below it left the database through an archive (0 when never pruned). */
export async function pruneFloor(tx: Tx): Promise<number> {
  const r = await tx.selectFrom('audit_prune_floors').select((eb) => eb.fn.max('floor_index').as('f')).executeTakeFirst();
  return Number(r?.f ?? 0);
}

/** Entries in the log: the highest stored index + 1, else the prune floor (everything pruned), else 0. */
export async function treeSize(tx: Tx): Promise<number> {
  const r = await tx.selectFrom('audit_entries').select((eb) => eb.fn.max('idx').as('m')).executeTakeFirst();
  if (r?.m !== null && r?.m !== undefined) return Number(r.m) + 1;
  return pruneFloor(tx);
}

export async function latestCheckpoint(tx: Tx): Promise<CheckpointRow | undefined> {
  return tx.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
}

export async function checkpointAt(tx: Tx, size: number): Promise<CheckpointRow | undefined> {
  return tx.selectFrom('audit_checkpoints').selectAll().where('size', '=', size).executeTakeFirst();
}

/** Checkpoint notes with afterSize < size <= maxSize, smallest first. */
export async function checkpointPage(tx: Tx, afterSize: number, maxSize: number, limit: number): Promise<Array<{ size: number; note: string }>> {
  return tx
    .selectFrom('audit_checkpoints')
    .select(['size', 'note'])
    .where('size', '>', afterSize)
    .where('size', '<=', maxSize)
    .orderBy('size')
    .limit(limit)
    .execute();
}

/** Entries [from, end) in index order, at most `limit`: what the verifier and forwarders read. */
export async function entryPage(tx: Tx, from: number, end: number, limit: number): Promise<Array<{ idx: number; event: string; leaf_hash: Uint8Array }>> {
  return tx
    .selectFrom('audit_entries')
    .select(['idx', 'event', 'leaf_hash'])
    .where('idx', '>=', from)
    .where('idx', '<', end)
    .orderBy('idx')
    .limit(limit)
    .execute();
}

/** Level-0 nodes [from, end) in index order: the leaf hashes kept for pruned entries. */
export async function prunedLeafPage(tx: Tx, from: number, end: number, limit: number): Promise<Array<{ idx: number; hash: Uint8Array }>> {
  return tx
    .selectFrom('audit_nodes')
    .select(['idx', 'hash'])
    .where('level', '=', 0)
    .where('idx', '>=', from)
    .where('idx', '<', end)
    .orderBy('idx')
    .limit(limit)
    .execute();
}

/** Entries by index (any order, missing ones absent). */
export async function entriesByIndex(tx: Tx, indexes: readonly number[]): Promise<EntryRow[]> {
  if (indexes.length === 0) return [];
  return tx.selectFrom('audit_entries').selectAll().where('idx', 'in', indexes).execute();
}

const key = (level: number, index: number) => `${level}/${index}`;

/**
 * Interior nodes are stored from this level up (about one row per eight
 * entries); a node below it is recomputed from its at most 2^(level) leaf
 * hashes when a proof or the frontier needs it (at most 15 leaves per proof).
 */
export const MIN_STORED_LEVEL = 4;

/** Leaf hashes by index: the entries' column, or the level-0 rows kept for pruned entries. */
async function leafHashes(tx: Tx, indexes: readonly number[]): Promise<Map<number, Buffer>> {
  const found = new Map<number, Buffer>();
  if (indexes.length === 0) return found;
  for (const r of await tx.selectFrom('audit_entries').select(['idx', 'leaf_hash']).where('idx', 'in', indexes).execute()) {
    found.set(Number(r.idx), Buffer.from(r.leaf_hash));
  }
  const missing = indexes.filter((i) => !found.has(i));
  if (missing.length > 0) {
    const rows = await tx.selectFrom('audit_nodes').select(['idx', 'hash']).where('level', '=', 0).where('idx', 'in', missing).execute();
    for (const r of rows) found.set(Number(r.idx), Buffer.from(r.hash));
  }
  return found;
}

/** The node (level < MIN_STORED_LEVEL) folded from its leaves, or undefined if one is missing. */
function derive(id: NodeId, leaves: Map<number, Buffer>): Buffer | undefined {
  const first = id.index * 2 ** id.level;
  const hashes: Buffer[] = [];
  for (let i = first; i < first + 2 ** id.level; i++) {
    const h = leaves.get(i);
    if (!h) return undefined;
    hashes.push(h);
  }
  return id.level === 0 ? hashes[0] : merkleRoot(hashes);
}

/**
 * A NodeReader over `tx`: nodes from MIN_STORED_LEVEL up from audit_nodes,
 * lower ones from the leaf hashes under them. Two or three queries per proof.
 */
export function nodeReader(tx: Tx): NodeReader {
  const getNodes = async (ids: readonly NodeId[]): Promise<(Buffer | undefined)[]> => {
    const found = new Map<string, Buffer>();
    const low = ids.filter((id) => id.level < MIN_STORED_LEVEL);
    const indexes = new Set<number>();
    for (const id of low) for (let i = id.index * 2 ** id.level; i < (id.index + 1) * 2 ** id.level; i++) indexes.add(i);
    const leaves = await leafHashes(tx, [...indexes]);
    for (const id of low) {
      const h = derive(id, leaves);
      if (h) found.set(key(id.level, id.index), h);
    }
    const high = ids.filter((id) => id.level >= MIN_STORED_LEVEL);
    if (high.length > 0) {
      const rows = await tx
        .selectFrom('audit_nodes')
        .select(['level', 'idx', 'hash'])
        .where((eb) => eb.or(high.map((id) => eb.and([eb('level', '=', id.level), eb('idx', '=', id.index)]))))
        .execute();
      for (const r of rows) found.set(key(r.level, Number(r.idx)), Buffer.from(r.hash));
    }
    return ids.map((id) => found.get(key(id.level, id.index)));
  };
  return {
    getNodes,
    getNode: async (level, index) => (await getNodes([{ level, index }]))[0],
  };
}

export async function readState(tx: Tx, name: string): Promise<string | undefined> {
  return (await tx.selectFrom('audit_state').select('value').where('name', '=', name).executeTakeFirst())?.value;
}

export async function writeState(tx: Tx, name: string, value: string, now: string): Promise<void> {
  const updated = await tx.updateTable('audit_state').set({ value, updated_at: now }).where('name', '=', name).executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) await tx.insertInto('audit_state').values({ name, value, updated_at: now }).execute();
}

/**
 * Claims a periodic job: sets `name` to `now` only if its value is absent or
 * older than `notAfter` (one conditional UPDATE, so of several processes only
 * one wins). True when this caller won.
 */
export async function claimState(tx: Tx, name: string, now: string, notAfter: string): Promise<boolean> {
  const updated = await tx
    .updateTable('audit_state')
    .set({ value: now, updated_at: now })
    .where('name', '=', name)
    .where('value', '<=', notAfter)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) return true;
  if ((await readState(tx, name)) !== undefined) return false;
  await tx.insertInto('audit_state').values({ name, value: now, updated_at: now }).execute();
  return true;
}

/** Filters of the entries API; each narrows the result (AND). */
export interface EntryFilter {
  from?: string | undefined;
  to?: string | undefined;
  actorId?: string | undefined;
  actorType?: string | undefined;
  classUid?: number | undefined;
  outcome?: 'success' | 'failure' | undefined;
  tenantId?: string | undefined;
  targetId?: string | undefined;
  targetType?: string | undefined;
  action?: string | undefined;
}

/** One page of entries matching `filter`, by index ascending or descending, after the cursor index. */
export async function listEntries(
  tx: Tx,
  filter: EntryFilter,
  page: { after?: number | undefined; order: 'asc' | 'desc'; limit: number },
): Promise<EntryRow[]> {
  let q = tx.selectFrom('audit_entries').selectAll().orderBy('idx', page.order).limit(page.limit);
  if (page.after !== undefined) q = q.where('idx', page.order === 'asc' ? '>' : '<', page.after);
  if (filter.from !== undefined) q = q.where('recorded_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('recorded_at', '<', filter.to);
  if (filter.actorId !== undefined) q = q.where('actor_id', '=', filter.actorId);
  if (filter.actorType !== undefined) q = q.where('actor_type', '=', filter.actorType);
  if (filter.classUid !== undefined) q = q.where('class_uid', '=', filter.classUid);
  if (filter.outcome !== undefined) q = q.where('outcome', '=', filter.outcome);
  if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
  if (filter.targetId !== undefined) q = q.where('target_id', '=', filter.targetId);
  if (filter.targetType !== undefined) q = q.where('target_type', '=', filter.targetType);
  if (filter.action !== undefined) q = q.where('action', '=', filter.action);
  return q.execute();
}

/** The first index in [floor, size) recorded at or after `cutoff`, else `size`: where an archive must stop. */
export async function firstIndexAtOrAfter(tx: Tx, floor: number, size: number, cutoff: string): Promise<number> {
  const row = await tx
    .selectFrom('audit_entries')
    .select((eb) => eb.fn.min('idx').as('i'))
    .where('idx', '>=', floor)
    .where('idx', '<', size)
    .where('recorded_at', '>=', cutoff)
    .executeTakeFirst();
  return row?.i === null || row?.i === undefined ? size : Number(row.i);
}
