import { createHash, timingSafeEqual } from 'node:crypto';
import { OCSF } from '../audit/index.js';
import { activeGrants, BUILTIN_ROLES, decide } from '../access/index.js';
import type { Tx } from '../db/index.js';
import { scopeTenant } from '../db/index.js';
import type { Actor, RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { PLATFORM_REALM } from './accounts.js';
import { identityErrors } from './errors.js';
import { hashToken, newToken } from './secrets.js';
import { findAccount, findSession, findSessionByHash, insertSession, listSessions, revokeSession, updateSession } from './store.js';
import type { AccountsTable, SessionsTable } from './tables.js';
import { SESSION_PREFIX, type IdentityDeps, type IssuedSession, type SessionInfo } from './types.js';

/** Pending (second factor due) sessions carry this prefix: no authenticator accepts them. */
export const MFA_TOKEN_PREFIX = 'csm_';

/** The CSRF token of a session: derived from its secret token, so only its holder can know it. */
export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update(`custos-csrf\0${sessionToken}`).digest('base64url');
}

export function csrfMatches(sessionToken: string, presented: string): boolean {
  const a = Buffer.from(csrfTokenOf(sessionToken));
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function toSessionInfo(row: SessionsTable, currentId?: string): SessionInfo {
  return {
    id: row.id,
    state: row.state,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    absoluteExpiresAt: row.absolute_expires_at,
    mfaAt: row.mfa_at,
    current: row.id === currentId,
  };
}

/** Inserts a session row in `state`; a usable session gets a `css_` token, a pending one a `csm_` token. */
export async function createSession(
  deps: IdentityDeps,
  tx: Tx,
  accountId: string,
  state: SessionsTable['state'],
  ctx: RequestContext,
  mfaAt: string | null,
): Promise<IssuedSession> {
  const now = deps.clock.now();
  const token = newToken(state === 'active' ? SESSION_PREFIX : MFA_TOKEN_PREFIX);
  const ttlMs = state === 'active' ? deps.config.session.absoluteHours * 3600_000 : deps.config.session.mfaPendingMinutes * 60_000;
  const row: SessionsTable = {
    id: newId(),
    token_hash: hashToken(token),
    account_id: accountId,
    state,
    created_at: now.toISOString(),
    last_seen_at: now.toISOString(),
    absolute_expires_at: new Date(now.getTime() + ttlMs).toISOString(),
    mfa_at: mfaAt,
    challenge: null,
    source_ip: ctx.sourceIp,
    revoked_at: null,
  };
  await insertSession(tx, row);
  const next = state === 'active' ? 'none' : state === 'pending_mfa' ? 'mfa' : 'enrol_mfa';
  return { token, csrfToken: state === 'active' ? csrfTokenOf(token) : '', session: toSessionInfo(row, row.id), next };
}

/** A pending session finishes its second factor: the pending token dies, a fresh active one is issued (no fixation). */
export async function activatePending(deps: IdentityDeps, tx: Tx, pending: SessionsTable, ctx: RequestContext): Promise<IssuedSession> {
  const now = deps.clock.now().toISOString();
  await revokeSession(tx, pending.id, now);
  return createSession(deps, tx, pending.account_id, 'active', ctx, now);
}

/** The live pending session behind an MFA token, or AUTH_SESSION_INVALID. */
export async function pendingSession(deps: IdentityDeps, tx: Tx, mfaToken: string): Promise<SessionsTable> {
  if (!mfaToken.startsWith(MFA_TOKEN_PREFIX)) throw identityErrors.sessionInvalid();
  const row = await findSessionByHash(tx, hashToken(mfaToken));
  const now = deps.clock.now().toISOString();
  if (!row || row.state === 'active' || row.revoked_at || row.absolute_expires_at <= now) throw identityErrors.sessionInvalid();
  return row;
}

async function resolvePermissions(deps: IdentityDeps, tx: Tx, account: AccountsTable): Promise<{ permissions: string[]; purposes: string[] }> {
  const roles = JSON.parse(account.roles) as string[];
  const permissions = new Set<string>();
  const purposes = new Set<string>();
  const custom: string[] = [];
  for (const r of roles) {
    const def = BUILTIN_ROLES[r];
    if (!def) custom.push(r);
    for (const p of def?.permissions ?? []) permissions.add(p);
    for (const p of def?.purposes ?? []) purposes.add(p);
  }
  if (custom.length && account.tenant_id) {
    const scope = await scopeTenant(deps.db.adapter, tx, account.tenant_id);
    const rows = await scope.selectFrom('tenant_roles').selectAll().where('name', 'in', custom).execute();
    for (const row of rows) {
      for (const p of JSON.parse(row.permissions) as string[]) permissions.add(p);
      for (const p of JSON.parse(row.purposes) as string[]) purposes.add(p);
    }
  }
  return { permissions: [...permissions], purposes: [...purposes] };
}

/** Builds the actor of an account (roles, custom roles, grants) for a session. */
export async function actorFor(deps: IdentityDeps, tx: Tx, account: AccountsTable, session: SessionsTable | null): Promise<Actor> {
  const now = deps.clock.now().toISOString();
  const roles = JSON.parse(account.roles) as string[];
  const resolved = await resolvePermissions(deps, tx, account);
  return {
    type: 'user',
    id: account.id,
    platformRoles: account.realm === PLATFORM_REALM ? roles : [],
    tenantId: account.tenant_id ?? undefined,
    permissions: resolved.permissions,
    purposes: resolved.purposes,
    grants: await activeGrants(tx, account.id, now),
    sessionId: session?.id,
    mfaAt: session?.mfa_at ?? null,
  };
}

/** The actor of a live, active session token; undefined when it is not a session token; throws when it is one but not valid. */
export async function authenticateSession(deps: IdentityDeps, token: string): Promise<Actor | undefined> {
  if (!token.startsWith(SESSION_PREFIX) || token.length > 100) return undefined;
  const now = deps.clock.now();
  const iso = now.toISOString();
  const idleMs = deps.config.session.idleMinutes * 60_000;
  const found = await deps.db.read(async (tx) => {
    const session = await findSessionByHash(tx, hashToken(token));
    if (!session || session.state !== 'active' || session.revoked_at || session.absolute_expires_at <= iso) return undefined;
    if (Date.parse(session.last_seen_at) + idleMs <= now.getTime()) return undefined;
    const account = await findAccount(tx, session.account_id);
    if (!account || account.status !== 'active' || account.locked_at) return undefined;
    return { session, actor: await actorFor(deps, tx, account, session) };
  });
  if (!found) throw identityErrors.sessionInvalid();
  // Sliding idle timeout, written at most once a minute per session.
  if (now.getTime() - Date.parse(found.session.last_seen_at) > 60_000) {
    await deps.db.write((tx) => updateSession(tx, found.session.id, { last_seen_at: iso }));
  }
  return found.actor;
}

export async function listOwnSessions(deps: IdentityDeps, ctx: RequestContext): Promise<SessionInfo[]> {
  const a = ctx.actor;
  if (a.type !== 'user') throw identityErrors.sessionNotFound();
  const rows = await deps.db.read((tx) => listSessions(tx, a.id, deps.clock.now().toISOString()));
  return rows.filter((r) => r.state === 'active').map((r) => toSessionInfo(r, a.sessionId));
}

/** Revokes a session: one's own, or anyone's with `sessions:manage`. Logout is revoking the current one. */
export async function revokeSessionById(deps: IdentityDeps, ctx: RequestContext, sessionId: string, action = 'session.revoke'): Promise<void> {
  const a = ctx.actor;
  if (a.type !== 'user' && a.type !== 'system') throw identityErrors.sessionNotFound();
  await deps.db.write(async (tx) => {
    const row = await findSession(tx, sessionId);
    if (!row || row.revoked_at) throw identityErrors.sessionNotFound();
    if (a.type === 'user' && row.account_id !== a.id) {
      const owner = await findAccount(tx, row.account_id);
      const tenantId = owner?.tenant_id ?? undefined;
      if (decide(a, 'sessions:manage', { tenantId }) !== 'allow') throw identityErrors.sessionNotFound();
    }
    await revokeSession(tx, row.id, deps.clock.now().toISOString());
    await deps.audit.record(tx, ctx, {
      classUid: OCSF.AUTHENTICATION,
      activityId: 2,
      action,
      kind: 'auth',
      outcome: 'success',
      target: { type: 'session', id: row.id },
      details: { accountId: row.account_id },
    });
  });
}
