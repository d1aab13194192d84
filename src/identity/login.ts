import { OCSF } from '../audit/index.js';
import type { AuditEventInput } from '../audit/index.js';
import type { RequestContext } from '../shared/context.js';
import { emailIndex, realmOf } from './accounts.js';
import { identityErrors } from './errors.js';
import { hasSecondFactor } from './mfa.js';
import { createSession } from './sessions.js';
import { findAccountByEmail, findAccount, revokeSession } from './store.js';
import type { AccountsTable } from './tables.js';
import type { IdentityDeps, IssuedSession } from './types.js';

/** Verified against when the account does not exist, so both answers take the same time. */
let dummyHash: Promise<string> | undefined;

export const LOGON = 1;
export const LOGOFF = 2;

function as(ctx: RequestContext, accountId: string): RequestContext {
  return { ...ctx, actor: { type: 'user', id: accountId, platformRoles: [] } };
}

export function authEvent(action: string, outcome: 'success' | 'failure', target: { type: string; id: string }, details: AuditEventInput['details'], tenantId?: string | null): AuditEventInput {
  return {
    classUid: OCSF.AUTHENTICATION,
    activityId: action === 'auth.logout' ? LOGOFF : LOGON,
    action,
    kind: outcome === 'failure' ? 'security' : 'auth',
    outcome,
    severity: outcome === 'failure' ? 'low' : 'informational',
    tenantId: tenantId ?? null,
    target,
    details: details ?? {},
  };
}

export interface LoginInput {
  email: string;
  password: string;
  tenantId?: string | undefined;
}

/**
 * Password login. Attempts are taken from the account's and the address's
 * counters before the hash is verified; the answer for a wrong password and
 * for an unknown account is the same (AUTH_LOGIN_FAILED), after the same work.
 * A correct password yields a pending session when a second factor is due or
 * must first be enrolled — never a usable one.
 */
export async function login(deps: IdentityDeps, ctx: RequestContext, input: LoginInput): Promise<IssuedSession> {
  const index = await emailIndex(deps, input.email);
  const realm = realmOf(input.tenantId);
  const accountKey = { key: `acct:${realm}:${index}`, max: deps.config.lockout.accountMax };
  const ipKey = { key: `ip:${ctx.sourceIp ?? 'none'}`, max: deps.config.lockout.ipMax };
  const target = { type: 'account_ref', id: index };
  try {
    await deps.throttle.take([accountKey, ipKey]);
  } catch (e) {
    await deps.audit.recordAlone(ctx, authEvent('auth.login', 'failure', target, { reason: 'locked' }, input.tenantId));
    throw e;
  }
  const account = await deps.db.read((tx) => findAccountByEmail(tx, realm, index));
  if (account?.locked_at) {
    // Refused before the password is checked, so a locked account tells an attacker nothing about the password.
    await deps.audit.recordAlone(ctx, authEvent('auth.login', 'failure', { type: 'account', id: account.id }, { reason: 'account_locked' }, input.tenantId));
    throw identityErrors.accountLocked();
  }
  dummyHash ??= deps.hasher.hash('custos-dummy-password-for-timing');
  const ok = await deps.hasher.verify(account?.password_hash ?? (await dummyHash), input.password);
  if (!account || !ok || account.status !== 'active') {
    await deps.throttle.fail([accountKey, ipKey]);
    await deps.audit.recordAlone(ctx, authEvent('auth.login', 'failure', account ? { type: 'account', id: account.id } : target, { reason: 'credentials' }, input.tenantId));
    throw identityErrors.loginFailed();
  }
  await deps.throttle.succeed(accountKey.key, [ipKey.key]);
  return startSession(deps, ctx, account, 'password');
}

/** After a first factor: an active session when no MFA is due, else a pending one (verify or enrol). */
export async function startSession(deps: IdentityDeps, ctx: RequestContext, account: AccountsTable, method: string): Promise<IssuedSession> {
  return deps.db.write(async (tx) => {
    const enrolled = await hasSecondFactor(tx, account.id);
    const state = enrolled ? 'pending_mfa' : account.mfa_required ? 'enrol_mfa' : 'active';
    const issued = await createSession(deps, tx, account.id, state, ctx, null);
    await deps.audit.record(
      tx,
      as(ctx, account.id),
      authEvent('auth.login', 'success', { type: 'session', id: issued.session.id }, { accountId: account.id, method, next: issued.next }, account.tenant_id),
    );
    return issued;
  });
}

export async function logout(deps: IdentityDeps, ctx: RequestContext): Promise<void> {
  const a = ctx.actor;
  if (a.type !== 'user' || !a.sessionId) throw identityErrors.sessionNotFound();
  const sessionId = a.sessionId;
  await deps.db.write(async (tx) => {
    const account = await findAccount(tx, a.id);
    await revokeSession(tx, sessionId, deps.clock.now().toISOString());
    await deps.audit.record(tx, ctx, authEvent('auth.logout', 'success', { type: 'session', id: sessionId }, { accountId: a.id }, account?.tenant_id));
  });
}
