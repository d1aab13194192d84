import type { Tx } from '../db/index.js';
import type { TenantsTable } from '../db/types.js';
import type { TenantState } from './types.js';

export type TenantRow = TenantsTable;

export async function insertTenant(tx: Tx, row: TenantRow): Promise<void> {
  await tx.insertInto('tenants').values(row).execute();
}

export async function findTenant(tx: Tx, id: string): Promise<TenantRow | undefined> {
  return tx.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listTenants(
  tx: Tx,
  opts: { afterId?: string | undefined; limit: number; state?: TenantState | undefined },
): Promise<TenantRow[]> {
  let q = tx.selectFrom('tenants').selectAll().orderBy('id').limit(opts.limit);
  if (opts.afterId) q = q.where('id', '>', opts.afterId);
  if (opts.state) q = q.where('state', '=', opts.state);
  return q.execute();
}

export async function updateTenant(
  tx: Tx,
  id: string,
  patch: Partial<Pick<TenantRow, 'name' | 'state' | 'updated_at' | 'state_changed_at'>>,
): Promise<void> {
  await tx.updateTable('tenants').set(patch).where('id', '=', id).execute();
}
