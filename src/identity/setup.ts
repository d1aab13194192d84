import { ACTIVITY, OCSF } from '../audit/index.js';
import type { RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { insertNewAccount, newSecretToken, prepareAccount } from './accounts.js';
import { identityErrors } from './errors.js';
import { hashToken } from './secrets.js';
import { createSession } from './sessions.js';
import { consumeSetupToken, countPlatformAccounts, countSetupTokens, findSetupToken, insertSetupToken, revokeSetupTokens } from './store.js';
import { SETUP_PREFIX, type IdentityDeps, type IssuedSession } from './types.js';

/**
 * The one-time setup token (replaces the foundation's bootstrap token): it
 * authenticates nothing by itself; presented once to `POST /api/v1/setup`,
 * it creates the first platform administrator, who must enrol MFA before
 * the session works, and it expires with that use.
 */
export async function issueSetupToken(deps: IdentityDeps, ctx: RequestContext, ttlHours = deps.setupTokenTtlHours): Promise<{ token: string; expiresAt: string }> {
  const { token, hash } = newSecretToken(SETUP_PREFIX);
  const now = deps.clock.now();
  const id = newId();
  const expiresAt = new Date(now.getTime() + ttlHours * 3600_000).toISOString();
  await deps.db.write(async (tx) => {
    const revoked = await revokeSetupTokens(tx, now.toISOString());
    await insertSetupToken(tx, { id, token_hash: hash, created_at: now.toISOString(), expires_at: expiresAt, revoked_at: null });
    await deps.audit.record(tx, ctx, {
      classUid: OCSF.ACCOUNT_CHANGE,
      activityId: ACTIVITY.CREATE,
      action: 'setup_token.issue',
      kind: 'security',
      outcome: 'success',
      severity: 'high',
      target: { type: 'setup_token', id },
      details: { revokedEarlier: revoked, expiresAt },
    });
  });
  return { token, expiresAt };
}

export async function setupTokenEverIssued(deps: IdentityDeps): Promise<boolean> {
  return (await deps.db.read((tx) => countSetupTokens(tx))) > 0;
}

export async function platformAccountsExist(deps: IdentityDeps): Promise<boolean> {
  return (await deps.db.read((tx) => countPlatformAccounts(tx))) > 0;
}

/** Creates the first platform admin with the setup token; returns a session that must enrol MFA first. */
export async function completeSetup(
  deps: IdentityDeps,
  ctx: RequestContext,
  input: { token: string; email: string; name: string; password: string },
): Promise<IssuedSession> {
  if (!input.token.startsWith(SETUP_PREFIX) || input.token.length > 100) throw identityErrors.setupInvalid();
  const row = await prepareAccount(deps, { tenantId: null, email: input.email, name: input.name, password: input.password, roles: ['platform_admin'] });
  try {
    return await deps.db.write(async (tx) => {
      const token = await findSetupToken(tx, hashToken(input.token));
      if (!token || !(await consumeSetupToken(tx, token.id, deps.clock.now().toISOString()))) throw identityErrors.setupInvalid();
      await insertNewAccount(deps, tx, ctx, row, 'setup_token');
      return createSession(deps, tx, row.id, 'enrol_mfa', { ...ctx, actor: { type: 'user', id: row.id, platformRoles: ['platform_admin'] } }, null);
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'SETUP_TOKEN_INVALID') {
      await deps.audit.recordAlone(ctx, { classUid: OCSF.AUTHENTICATION, activityId: 1, action: 'setup.complete', kind: 'security', outcome: 'failure', severity: 'high' });
    }
    throw e;
  }
}
