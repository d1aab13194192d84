/**
 * Reversible security responses on identities (the SIEM's active responses,
 * src/siem): lock an account, revoke its sessions, suspend an API key — and
 * their reverts. Each runs inside the caller's unit of work and records its
 * audit event there. They do not authorise: the caller has (the SIEM's
 * `alerts:manage` for a revert, its rule settings for an automatic response).
 * Every check that admits a principal reads these columns at each request
 * (sessions.ts, api-keys.ts, login.ts), so a lock or suspension holds from
 * the commit on.
 */
import { ACTIVITY, OCSF, type AuditEventInput, type AuditRecorder, type JsonValue } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { accountTenant, restoreSessions, revokeLiveSessions, setAccountLock, setApiKeySuspension } from './store-locks.js';

export interface LockDeps {
  audit: AuditRecorder;
  clock: Clock;
}

type Details = Record<string, JsonValue>;

function event(action: string, classUid: number, tenantId: string | null, target: { type: string; id: string }, details: Details): AuditEventInput {
  return { classUid, activityId: ACTIVITY.UPDATE, action, kind: 'security', outcome: 'success', severity: 'medium', tenantId, target, details };
}

/** Locks the account (login refused, sessions rejected) and revokes its unfinished logins. False when unknown or already locked. */
export async function lockAccount(deps: LockDeps, tx: Tx, ctx: RequestContext, accountId: string, details: Details = {}): Promise<boolean> {
  const owner = await accountTenant(tx, accountId);
  const now = deps.clock.now().toISOString();
  if (!owner || !(await setAccountLock(tx, accountId, now))) return false;
  const pending = await revokeLiveSessions(tx, accountId, now, ['pending_mfa', 'enrol_mfa']);
  await deps.audit.record(tx, ctx, event('account.lock', OCSF.ACCOUNT_CHANGE, owner.tenantId, { type: 'account', id: accountId }, { ...details, pendingLoginsRevoked: pending.length }));
  return true;
}

/** Unlocks a locked account. False when unknown or not locked. */
export async function unlockAccount(deps: LockDeps, tx: Tx, ctx: RequestContext, accountId: string, details: Details = {}): Promise<boolean> {
  const owner = await accountTenant(tx, accountId);
  if (!owner || !(await setAccountLock(tx, accountId, null))) return false;
  await deps.audit.record(tx, ctx, event('account.unlock', OCSF.ACCOUNT_CHANGE, owner.tenantId, { type: 'account', id: accountId }, details));
  return true;
}

/** Revokes every live session of the account; returns their ids and the revocation time (what a revert needs). */
export async function revokeAllSessions(
  deps: LockDeps,
  tx: Tx,
  ctx: RequestContext,
  accountId: string,
  details: Details = {},
): Promise<{ sessionIds: string[]; revokedAt: string } | undefined> {
  const owner = await accountTenant(tx, accountId);
  if (!owner) return undefined;
  const revokedAt = deps.clock.now().toISOString();
  const sessionIds = await revokeLiveSessions(tx, accountId, revokedAt);
  await deps.audit.record(tx, ctx, event('account.sessions_revoke', OCSF.AUTHENTICATION, owner.tenantId, { type: 'account', id: accountId }, { ...details, sessions: sessionIds.length }));
  return { sessionIds, revokedAt };
}

/**
 * Gives back sessions a `revokeAllSessions` took (those still revoked at that
 * instant; expiry and idle timeouts still apply). Returns how many.
 */
export async function restoreRevokedSessions(
  deps: LockDeps,
  tx: Tx,
  ctx: RequestContext,
  accountId: string,
  taken: { sessionIds: string[]; revokedAt: string },
  details: Details = {},
): Promise<number> {
  const owner = await accountTenant(tx, accountId);
  const n = await restoreSessions(tx, accountId, taken.sessionIds, taken.revokedAt);
  await deps.audit.record(tx, ctx, event('account.sessions_restore', OCSF.AUTHENTICATION, owner?.tenantId ?? null, { type: 'account', id: accountId }, { ...details, sessions: n }));
  return n;
}

/** Suspends a live API key. False when unknown, revoked or already suspended. */
export async function suspendApiKey(deps: LockDeps, tx: Tx, ctx: RequestContext, keyId: string, details: Details = {}): Promise<boolean> {
  const key = await setApiKeySuspension(tx, keyId, deps.clock.now().toISOString());
  if (!key) return false;
  await deps.audit.record(tx, ctx, event('api_key.suspend', OCSF.ACCOUNT_CHANGE, key.tenantId, { type: 'api_key', id: keyId }, details));
  return true;
}

/** Resumes a suspended API key. False when unknown or not suspended. */
export async function resumeApiKey(deps: LockDeps, tx: Tx, ctx: RequestContext, keyId: string, details: Details = {}): Promise<boolean> {
  const key = await setApiKeySuspension(tx, keyId, null);
  if (!key) return false;
  await deps.audit.record(tx, ctx, event('api_key.resume', OCSF.ACCOUNT_CHANGE, key.tenantId, { type: 'api_key', id: keyId }, details));
  return true;
}
