import type { TenantScope } from '../db/index.js';
import type { IntegrationsTable } from '../db/types.js';

/** The only file of this module that builds queries; every one goes through the tenant scope. */
export type IntegrationRow = IntegrationsTable;

export async function insertIntegration(s: TenantScope, row: Omit<IntegrationRow, 'tenant_id'>): Promise<void> {
  await s.insertInto('integrations', row).execute();
}

export async function findIntegration(s: TenantScope, id: string): Promise<IntegrationRow | undefined> {
  return s.selectFrom('integrations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listIntegrations(s: TenantScope, opts: { afterId?: string | undefined; limit: number }): Promise<IntegrationRow[]> {
  let q = s.selectFrom('integrations').selectAll().orderBy('id').limit(opts.limit);
  if (opts.afterId) q = q.where('id', '>', opts.afterId);
  return q.execute();
}

/** True when a row was deleted. */
export async function deleteIntegration(s: TenantScope, id: string): Promise<boolean> {
  const r = await s.deleteFrom('integrations').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** True when the row still exists. */
export async function touchIntegration(s: TenantScope, id: string, now: string): Promise<boolean> {
  const r = await s.updateTable('integrations').set({ last_used_at: now }).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
