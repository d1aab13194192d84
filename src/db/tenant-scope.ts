import type { DeleteQueryBuilder, DeleteResult, Insertable, InsertQueryBuilder, InsertResult, Kysely, SelectQueryBuilder, UpdateQueryBuilder, UpdateResult } from 'kysely';
import type { DialectAdapter } from './dialects/adapter.js';
import type { Database, Tx } from './types.js';

/** Names of the tenant-owned tables (see tenant-tables.ts). */
export type TenantTable = { [K in keyof Database]: Database[K] extends { tenant_id: string } ? K : never }[keyof Database];

/**
 * The only door to tenant data. Every query it builds is pinned to one
 * tenant: reads, updates and deletes carry `tenant_id = <tenant>`, inserts
 * get the tenant's id. On PostgreSQL the tenant is also set for the
 * transaction, so row-level security holds even if a condition were missing.
 */
export interface TenantScope {
  readonly tenantId: string;
  readonly tx: Tx;
  selectFrom<T extends TenantTable>(table: T): SelectQueryBuilder<Database, T, object>;
  insertInto<T extends TenantTable>(
    table: T,
    values: Omit<Insertable<Database[T]>, 'tenant_id'>,
  ): InsertQueryBuilder<Database, T, InsertResult>;
  updateTable<T extends TenantTable>(table: T): UpdateQueryBuilder<Database, T, T, UpdateResult>;
  deleteFrom<T extends TenantTable>(table: T): DeleteQueryBuilder<Database, T, DeleteResult>;
}

// Kysely cannot check a column reference against a generic table name, so the
// builders below are typed by their signatures above, not by inference.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Untyped = Kysely<any>;

/** Pins `tx` to `tenantId` and returns the scoped handle. */
export async function scopeTenant(adapter: DialectAdapter, tx: Tx, tenantId: string): Promise<TenantScope> {
  await adapter.setTenant(tx, tenantId);
  const u = tx as unknown as Untyped;
  return {
    tenantId,
    tx,
    selectFrom: (table) => u.selectFrom(table as string).where(`${table as string}.tenant_id`, '=', tenantId) as never,
    insertInto: (table, values) => u.insertInto(table as string).values({ ...values, tenant_id: tenantId }) as never,
    updateTable: (table) => u.updateTable(table as string).where(`${table as string}.tenant_id`, '=', tenantId) as never,
    deleteFrom: (table) => u.deleteFrom(table as string).where(`${table as string}.tenant_id`, '=', tenantId) as never,
  };
}
