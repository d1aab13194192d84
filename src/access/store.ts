import type { Database, Tx } from '../db/index.js';

/**
 * The only file of src/access that queries the database: access requests
 * (just-in-time grants). Rows in, rows out; no business rules.
 */
export type AccessRequestRow = Database['access_requests'];

export async function insertRequest(tx: Tx, row: AccessRequestRow): Promise<void> {
  await tx.insertInto('access_requests').values(row).execute();
}

export async function findRequest(tx: Tx, id: string): Promise<AccessRequestRow | undefined> {
  return tx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function tenantExists(tx: Tx, tenantId: string): Promise<boolean> {
  return Boolean(await tx.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst());
}

/** Moves a request from `from` to the patch's status only if it is still in `from`: one decision wins a race. */
export async function transition(tx: Tx, id: string, from: AccessRequestRow['status'], patch: Partial<AccessRequestRow>): Promise<boolean> {
  const r = await tx.updateTable('access_requests').set(patch).where('id', '=', id).where('status', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export type View = 'pending' | 'active' | 'expired' | 'all';

export async function listRequests(tx: Tx, q: { view: View; accountId?: string | undefined; now: string; limit: number }): Promise<AccessRequestRow[]> {
  let s = tx.selectFrom('access_requests').selectAll();
  if (q.accountId) s = s.where('account_id', '=', q.accountId);
  if (q.view === 'pending') s = s.where('status', '=', 'pending');
  if (q.view === 'active') s = s.where('status', '=', 'approved').where('expires_at', '>', q.now);
  if (q.view === 'expired') {
    s = s.where((eb) => eb.or([eb('status', '=', 'expired'), eb.and([eb('status', '=', 'approved'), eb('expires_at', '<=', q.now)])]));
  }
  return s.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

/** Approved grants whose time is over and not yet recorded as expired. */
export async function dueForExpiry(tx: Tx, now: string, limit: number): Promise<AccessRequestRow[]> {
  return tx.selectFrom('access_requests').selectAll().where('status', '=', 'approved').where('expires_at', '<=', now).limit(limit).execute();
}

/** The live grants of an account: approved and not expired at `now`, whatever the sweeper has done yet. */
export async function liveGrants(tx: Tx, accountId: string, now: string): Promise<Array<Pick<AccessRequestRow, 'tenant_id' | 'role' | 'purposes' | 'expires_at'>>> {
  return tx
    .selectFrom('access_requests')
    .select(['tenant_id', 'role', 'purposes', 'expires_at'])
    .where('account_id', '=', accountId)
    .where('status', '=', 'approved')
    .where('expires_at', '>', now)
    .execute();
}
