import type { Tx } from '../db/index.js';

/** Queries of the reversible security responses (locks.ts): account locks, session sets, API-key suspension. */
export async function setAccountLock(tx: Tx, id: string, lockedAt: string | null): Promise<boolean> {
  let q = tx.updateTable('accounts').set({ locked_at: lockedAt }).where('id', '=', id);
  q = lockedAt === null ? q.where('locked_at', 'is not', null) : q.where('locked_at', 'is', null);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Revokes the account's live sessions (pending ones too, when `states` is omitted) and returns their ids. */
export async function revokeLiveSessions(tx: Tx, accountId: string, now: string, states?: ReadonlyArray<'pending_mfa' | 'enrol_mfa' | 'active'>): Promise<string[]> {
  let q = tx.selectFrom('sessions').select('id').where('account_id', '=', accountId).where('revoked_at', 'is', null).where('absolute_expires_at', '>', now);
  if (states) q = q.where('state', 'in', states);
  const ids = (await q.execute()).map((r) => r.id);
  if (ids.length) await tx.updateTable('sessions').set({ revoked_at: now }).where('id', 'in', ids).where('revoked_at', 'is', null).execute();
  return ids;
}

/** Un-revokes the listed sessions of the account that were revoked at `revokedAt` (not those revoked since by anyone else). */
export async function restoreSessions(tx: Tx, accountId: string, ids: readonly string[], revokedAt: string): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await tx
    .updateTable('sessions')
    .set({ revoked_at: null })
    .where('account_id', '=', accountId)
    .where('id', 'in', ids)
    .where('revoked_at', '=', revokedAt)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function setApiKeySuspension(tx: Tx, id: string, suspendedAt: string | null): Promise<{ tenantId: string } | undefined> {
  let q = tx.updateTable('api_keys').set({ suspended_at: suspendedAt }).where('id', '=', id);
  q = suspendedAt === null ? q.where('suspended_at', 'is not', null) : q.where('suspended_at', 'is', null).where('revoked_at', 'is', null);
  const r = await q.returning('tenant_id').executeTakeFirst();
  return r ? { tenantId: r.tenant_id } : undefined;
}

export async function accountTenant(tx: Tx, id: string): Promise<{ tenantId: string | null } | undefined> {
  const row = await tx.selectFrom('accounts').select('tenant_id').where('id', '=', id).executeTakeFirst();
  return row ? { tenantId: row.tenant_id } : undefined;
}
