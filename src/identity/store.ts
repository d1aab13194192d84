import type { Tx } from '../db/index.js';
import type { BootstrapTokensTable } from '../db/types.js';
import type { AccountsTable, AuthThrottleTable, InvitationsTable, MfaTotpTable, SessionsTable } from './tables.js';

// Setup token (the foundation's bootstrap_tokens table, now single-use).
export async function insertSetupToken(tx: Tx, row: BootstrapTokensTable): Promise<void> {
  await tx.insertInto('bootstrap_tokens').values(row).execute();
}
export async function findSetupToken(tx: Tx, tokenHash: string): Promise<BootstrapTokensTable | undefined> {
  return tx.selectFrom('bootstrap_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}
export async function revokeSetupTokens(tx: Tx, now: string): Promise<number> {
  const r = await tx.updateTable('bootstrap_tokens').set({ revoked_at: now }).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}
/** Consumes the token only if still unused and unexpired: true for exactly one caller. */
export async function consumeSetupToken(tx: Tx, id: string, now: string): Promise<boolean> {
  const r = await tx
    .updateTable('bootstrap_tokens')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
export async function countSetupTokens(tx: Tx): Promise<number> {
  const row = await tx.selectFrom('bootstrap_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

// Accounts.
export async function insertAccount(tx: Tx, row: AccountsTable): Promise<void> {
  await tx.insertInto('accounts').values(row).execute();
}
export async function findAccountByEmail(tx: Tx, realm: string, emailIndex: string): Promise<AccountsTable | undefined> {
  return tx.selectFrom('accounts').selectAll().where('realm', '=', realm).where('email_index', '=', emailIndex).executeTakeFirst();
}
export async function findAccount(tx: Tx, id: string): Promise<AccountsTable | undefined> {
  return tx.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}
export async function countPlatformAccounts(tx: Tx): Promise<number> {
  const row = await tx.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).where('realm', '=', 'platform').executeTakeFirst();
  return Number(row?.n ?? 0);
}
export async function updateAccount(tx: Tx, id: string, patch: Partial<AccountsTable>): Promise<void> {
  await tx.updateTable('accounts').set(patch).where('id', '=', id).execute();
}

// Invitations.
export async function insertInvitation(tx: Tx, row: InvitationsTable): Promise<void> {
  await tx.insertInto('invitations').values(row).execute();
}
export async function findInvitation(tx: Tx, tokenHash: string): Promise<InvitationsTable | undefined> {
  return tx.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}
export async function consumeInvitation(tx: Tx, id: string, now: string): Promise<boolean> {
  const r = await tx
    .updateTable('invitations')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

// Sessions.
export async function insertSession(tx: Tx, row: SessionsTable): Promise<void> {
  await tx.insertInto('sessions').values(row).execute();
}
export async function findSessionByHash(tx: Tx, tokenHash: string): Promise<SessionsTable | undefined> {
  return tx.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}
export async function findSession(tx: Tx, id: string): Promise<SessionsTable | undefined> {
  return tx.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}
export async function updateSession(tx: Tx, id: string, patch: Partial<SessionsTable>): Promise<void> {
  await tx.updateTable('sessions').set(patch).where('id', '=', id).execute();
}
export async function listSessions(tx: Tx, accountId: string, now: string): Promise<SessionsTable[]> {
  return tx
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .where('absolute_expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .limit(200)
    .execute();
}
export async function revokeSession(tx: Tx, id: string, now: string): Promise<boolean> {
  const r = await tx.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
/** Revokes every live session of the account except `keepId`. */
export async function revokeAccountSessions(tx: Tx, accountId: string, now: string, keepId?: string): Promise<number> {
  let q = tx.updateTable('sessions').set({ revoked_at: now }).where('account_id', '=', accountId).where('revoked_at', 'is', null);
  if (keepId) q = q.where('id', '!=', keepId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}
export async function revokeAccessRequestsOf(tx: Tx, accountId: string): Promise<number> {
  const r = await tx
    .updateTable('access_requests')
    .set({ status: 'revoked' })
    .where('account_id', '=', accountId)
    .where('status', 'in', ['pending', 'approved'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

// Brute-force counters.
export async function ensureThrottle(tx: Tx, key: string, now: string): Promise<void> {
  await tx
    .insertInto('auth_throttle')
    .values({ key, attempts: 0, window_start: now, locked_until: '', lockouts: 0 })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
}
export async function findThrottle(tx: Tx, key: string): Promise<AuthThrottleTable | undefined> {
  return tx.selectFrom('auth_throttle').selectAll().where('key', '=', key).executeTakeFirst();
}
/** Takes one attempt if fewer than `max` are taken and no lock holds: atomic, so concurrent callers never exceed `max`. */
export async function takeAttempt(tx: Tx, key: string, max: number, now: string): Promise<boolean> {
  const r = await tx
    .updateTable('auth_throttle')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('key', '=', key)
    .where('attempts', '<', max)
    .where('locked_until', '<=', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
/** Opens a new window once the old one is over and no lock holds. */
export async function resetWindow(tx: Tx, key: string, windowStartBefore: string, now: string): Promise<void> {
  await tx
    .updateTable('auth_throttle')
    .set({ attempts: 0, window_start: now, locked_until: '' })
    .where('key', '=', key)
    .where('locked_until', '<=', now)
    .where((eb) => eb.or([eb('window_start', '<', windowStartBefore), eb('locked_until', '!=', '')]))
    .execute();
}
export async function lockThrottle(tx: Tx, key: string, until: string): Promise<void> {
  await tx
    .updateTable('auth_throttle')
    .set((eb) => ({ locked_until: until, lockouts: eb('lockouts', '+', 1) }))
    .where('key', '=', key)
    .execute();
}
export async function releaseAttempt(tx: Tx, key: string): Promise<void> {
  await tx
    .updateTable('auth_throttle')
    .set((eb) => ({ attempts: eb('attempts', '-', 1) }))
    .where('key', '=', key)
    .where('attempts', '>', 0)
    .execute();
}
export async function clearThrottle(tx: Tx, key: string): Promise<void> {
  await tx.deleteFrom('auth_throttle').where('key', '=', key).execute();
}

// TOTP and recovery codes.
export async function findTotp(tx: Tx, accountId: string): Promise<MfaTotpTable | undefined> {
  return tx.selectFrom('mfa_totp').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}
export async function upsertTotp(tx: Tx, row: MfaTotpTable): Promise<void> {
  await tx.deleteFrom('mfa_totp').where('account_id', '=', row.account_id).execute();
  await tx.insertInto('mfa_totp').values(row).execute();
}
export async function confirmTotp(tx: Tx, accountId: string, now: string): Promise<void> {
  await tx.updateTable('mfa_totp').set({ confirmed_at: now }).where('account_id', '=', accountId).execute();
}
/** Advances the last accepted step only forward: a code of an equal or earlier step is refused (replay). */
export async function advanceTotpStep(tx: Tx, accountId: string, step: number): Promise<boolean> {
  const r = await tx.updateTable('mfa_totp').set({ last_step: step }).where('account_id', '=', accountId).where('last_step', '<', step).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
export async function deleteTotp(tx: Tx, accountId: string): Promise<void> {
  await tx.deleteFrom('mfa_totp').where('account_id', '=', accountId).execute();
}
export async function replaceRecoveryCodes(tx: Tx, accountId: string, hashes: string[], now: string): Promise<void> {
  await tx.deleteFrom('mfa_recovery_codes').where('account_id', '=', accountId).execute();
  await tx
    .insertInto('mfa_recovery_codes')
    .values(hashes.map((code_hash) => ({ account_id: accountId, code_hash, created_at: now, used_at: null })))
    .execute();
}
export async function useRecoveryCode(tx: Tx, accountId: string, codeHash: string, now: string): Promise<boolean> {
  const r = await tx
    .updateTable('mfa_recovery_codes')
    .set({ used_at: now })
    .where('account_id', '=', accountId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
export async function countWebauthn(tx: Tx, accountId: string): Promise<number> {
  const row = await tx.selectFrom('webauthn_credentials').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirst();
  return Number(row?.n ?? 0);
}
