import type { Tx } from '../db/index.js';
import type { ApiKeysTable } from './tables.js';

export async function insertApiKey(tx: Tx, row: ApiKeysTable): Promise<void> {
  await tx.insertInto('api_keys').values(row).execute();
}
export async function findApiKey(tx: Tx, id: string): Promise<ApiKeysTable | undefined> {
  return tx.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}
export async function findApiKeyByHash(tx: Tx, hash: string): Promise<ApiKeysTable | undefined> {
  return tx.selectFrom('api_keys').selectAll().where('token_hash', '=', hash).executeTakeFirst();
}
export async function listApiKeys(tx: Tx, tenantId: string): Promise<ApiKeysTable[]> {
  return tx.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').limit(500).execute();
}
export async function updateApiKey(tx: Tx, id: string, patch: Partial<ApiKeysTable>): Promise<void> {
  await tx.updateTable('api_keys').set(patch).where('id', '=', id).execute();
}
export async function touchApiKey(tx: Tx, id: string, now: string, ip: string | null): Promise<void> {
  await tx.updateTable('api_keys').set({ last_used_at: now, last_used_ip: ip }).where('id', '=', id).execute();
}
export async function flagApiKeysBy(tx: Tx, createdBy: string, now: string, reason: string): Promise<number> {
  const r = await tx
    .updateTable('api_keys')
    .set({ flagged_at: now, flag_reason: reason })
    .where('created_by', '=', createdBy)
    .where('revoked_at', 'is', null)
    .where('flagged_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
export async function flagOldApiKeys(tx: Tx, tenantId: string, createdBefore: string, now: string, reason: string): Promise<number> {
  const r = await tx
    .updateTable('api_keys')
    .set({ flagged_at: now, flag_reason: reason })
    .where('tenant_id', '=', tenantId)
    .where('created_at', '<', createdBefore)
    .where('revoked_at', 'is', null)
    .where('flagged_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
