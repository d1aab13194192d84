import { OCSF } from '../audit/index.js';
import type { RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { checkBuiltinRoles, emailIndex, insertNewAccount, newSecretToken, prepareAccount, realmOf, toAccount } from './accounts.js';
import { flagKeysOf } from './api-keys.js';
import { identityErrors } from './errors.js';
import { checkPassword } from './password.js';
import { hashToken, normaliseEmail } from './secrets.js';
import { consumeInvitation, findAccount, findInvitation, insertInvitation, revokeAccessRequestsOf, revokeAccountSessions, updateAccount } from './store.js';
import { INVITE_PREFIX, type Account, type IdentityDeps } from './types.js';

/** Invites a person into the platform (tenantId null) or a tenant, with roles; the single-use token is returned once. */
export async function invite(
  deps: IdentityDeps,
  ctx: RequestContext,
  input: { tenantId: string | null; email: string; roles: string[] },
): Promise<{ token: string; invitationId: string; expiresAt: string }> {
  await deps.guard.assert(ctx, input.tenantId ? 'members:manage' : 'accounts:manage', { tenantId: input.tenantId ?? undefined });
  checkBuiltinRoles(input.roles, input.tenantId ? 'tenant' : 'platform', input.roles);
  if (!input.tenantId || input.roles.some((r) => r === 'owner' || r === 'admin')) deps.guard.requireRecentMfa(ctx);
  const { token, hash } = newSecretToken(INVITE_PREFIX);
  const index = await emailIndex(deps, input.email);
  const now = deps.clock.now();
  const id = newId();
  const expiresAt = new Date(now.getTime() + deps.config.invitationTtlHours * 3600_000).toISOString();
  await deps.db.write(async (tx) => {
    await insertInvitation(tx, {
      id,
      token_hash: hash,
      realm: realmOf(input.tenantId),
      tenant_id: input.tenantId,
      email_index: index,
      roles: JSON.stringify(input.roles),
      created_by: ctx.actor.type === 'anonymous' ? 'anonymous' : ctx.actor.id,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      used_at: null,
    });
    await deps.audit.record(tx, ctx, {
      classUid: OCSF.USER_ACCESS_MANAGEMENT,
      activityId: 1,
      action: 'invitation.create',
      kind: 'change',
      outcome: 'success',
      tenantId: input.tenantId,
      target: { type: 'invitation', id },
      details: { roles: input.roles },
    });
  });
  return { token, invitationId: id, expiresAt };
}

/** Accepts an invitation: the email must be the invited one; the account gets the invited roles. */
export async function acceptInvitation(
  deps: IdentityDeps,
  ctx: RequestContext,
  input: { token: string; email: string; name: string; password: string },
): Promise<Account> {
  if (!input.token.startsWith(INVITE_PREFIX) || input.token.length > 100) throw identityErrors.invitationInvalid();
  const inv = await deps.db.read((tx) => findInvitation(tx, hashToken(input.token)));
  const now = deps.clock.now().toISOString();
  if (!inv || inv.used_at || inv.expires_at <= now || inv.email_index !== (await emailIndex(deps, input.email))) throw identityErrors.invitationInvalid();
  const row = await prepareAccount(deps, { tenantId: inv.tenant_id, email: input.email, name: input.name, password: input.password, roles: JSON.parse(inv.roles) as string[] });
  await deps.db.write(async (tx) => {
    if (!(await consumeInvitation(tx, inv.id, deps.clock.now().toISOString()))) throw identityErrors.invitationInvalid();
    await insertNewAccount(deps, tx, { ...ctx, actor: { type: 'user', id: row.id, platformRoles: [] } }, row, 'invitation');
  });
  return toAccount(row);
}

/**
 * An unknown id answers 404 only to those who could act on accounts in their
 * own realm; everyone else gets the permission refusal they would get for a
 * real account (found by the permission-matrix test: no id oracle).
 */
async function missingAccount(deps: IdentityDeps, ctx: RequestContext, platformPermission: 'accounts:read' | 'accounts:manage'): Promise<never> {
  const tenantId = ctx.actor.type === 'user' || ctx.actor.type === 'api_key' ? ctx.actor.tenantId : undefined;
  const tenantPermission = platformPermission === 'accounts:read' ? 'members:read' : 'members:manage';
  await deps.guard.assert(ctx, tenantId ? tenantPermission : platformPermission, { tenantId });
  throw identityErrors.accountNotFound();
}

export async function getAccount(deps: IdentityDeps, ctx: RequestContext, id: string): Promise<Account> {
  const row = await deps.db.read((tx) => findAccount(tx, id));
  if (!row) return missingAccount(deps, ctx, 'accounts:read');
  if (!(ctx.actor.type === 'user' && ctx.actor.id === id)) {
    await deps.guard.assert(ctx, row.tenant_id ? 'members:read' : 'accounts:read', { tenantId: row.tenant_id ?? undefined });
  }
  return toAccount(row);
}

/**
 * Offboarding: the account is deactivated, its sessions revoked, its
 * just-in-time grants revoked and the API keys it created flagged for
 * rotation; a `security` event records it (M26).
 */
export async function deactivate(deps: IdentityDeps, ctx: RequestContext, id: string): Promise<Account> {
  const row = await deps.db.read((tx) => findAccount(tx, id));
  if (!row) return missingAccount(deps, ctx, 'accounts:manage');
  await deps.guard.assert(ctx, row.tenant_id ? 'members:manage' : 'accounts:manage', { tenantId: row.tenant_id ?? undefined });
  deps.guard.requireRecentMfa(ctx);
  const now = deps.clock.now().toISOString();
  return deps.db.write(async (tx) => {
    await updateAccount(tx, id, { status: 'deactivated', deactivated_at: now, updated_at: now });
    const sessions = await revokeAccountSessions(tx, id, now);
    const grants = await revokeAccessRequestsOf(tx, id);
    const flagged = await flagKeysOf(tx, id, now, 'creator offboarded');
    await deps.audit.record(tx, ctx, {
      classUid: OCSF.ACCOUNT_CHANGE,
      activityId: 5,
      action: 'account.offboard',
      kind: 'security',
      outcome: 'success',
      severity: 'medium',
      tenantId: row.tenant_id,
      target: { type: 'account', id },
      details: { sessionsRevoked: sessions, grantsRevoked: grants, apiKeysFlagged: flagged },
    });
    return { ...toAccount(row), status: 'deactivated' as const };
  });
}

/** Changes one's own password: the current one must verify; other sessions are revoked. */
export async function changePassword(deps: IdentityDeps, ctx: RequestContext, input: { current: string; next: string }): Promise<void> {
  const a = ctx.actor;
  if (a.type !== 'user') throw identityErrors.sessionInvalid();
  const row = await deps.db.read((tx) => findAccount(tx, a.id));
  if (!row?.password_hash) throw identityErrors.accountNotFound();
  const owner = row.tenant_id ?? '_platform';
  const open = async (field: string, v: Uint8Array) => (await deps.sealer.open({ tenantId: owner, purpose: 'accounts', objectId: row.id, field }, v)).toString('utf8');
  checkPassword(deps.config.password, input.next, { email: normaliseEmail(await open('email', row.email_sealed)), name: await open('name', row.name_sealed) });
  if (!(await deps.hasher.verify(row.password_hash, input.current))) throw identityErrors.loginFailed();
  const hash = await deps.hasher.hash(input.next);
  const now = deps.clock.now().toISOString();
  await deps.db.write(async (tx) => {
    await updateAccount(tx, a.id, { password_hash: hash, password_changed_at: now, updated_at: now });
    await revokeAccountSessions(tx, a.id, now, a.sessionId);
    await deps.audit.record(tx, ctx, { classUid: OCSF.ACCOUNT_CHANGE, activityId: 3, action: 'account.password_change', kind: 'security', outcome: 'success', tenantId: row.tenant_id, target: { type: 'account', id: a.id } });
  });
}
