import * as OTPAuth from 'otpauth';
import { ACTIVITY, OCSF } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import { identityErrors } from './errors.js';
import { newRecoveryCodes, normaliseRecoveryCode } from './secrets.js';
import { activatePending, pendingSession } from './sessions.js';
import { advanceTotpStep, clearThrottle, confirmTotp, countWebauthn, findAccount, findTotp, replaceRecoveryCodes, updateSession, upsertTotp, useRecoveryCode } from './store.js';
import { authEvent } from './login.js';
import type { IdentityDeps, IssuedSession } from './types.js';

const PERIOD = 30;

export async function hasSecondFactor(tx: Tx, accountId: string): Promise<boolean> {
  const totp = await findTotp(tx, accountId);
  return Boolean(totp?.confirmed_at) || (await countWebauthn(tx, accountId)) > 0;
}

function totpFor(secret: OTPAuth.Secret, issuer: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret });
}

const sealCtx = (accountId: string) => ({ tenantId: '_platform', purpose: 'mfa_totp', objectId: accountId, field: 'secret' });

function mfaEvent(action: string, accountId: string, outcome: 'success' | 'failure' = 'success') {
  return {
    classUid: OCSF.ACCOUNT_CHANGE,
    activityId: ACTIVITY.UPDATE,
    action,
    kind: 'security' as const,
    outcome,
    severity: 'medium' as const,
    target: { type: 'account', id: accountId },
  };
}

/** Whose factor: the pending session's account (enrolment at first login) or the signed-in user. */
export async function subjectOf(deps: IdentityDeps, ctx: RequestContext, mfaToken?: string): Promise<string> {
  if (mfaToken) {
    // Only a login that must first enrol may enrol with its MFA token: one that already has a factor
    // (pending_mfa) proving only the password must not add a new factor and so skip the enrolled one.
    const pending = await deps.db.read((tx) => pendingSession(deps, tx, mfaToken));
    if (pending.state !== 'enrol_mfa') throw identityErrors.mfaAlreadyEnrolled();
    return pending.account_id;
  }
  if (ctx.actor.type === 'user') return ctx.actor.id;
  throw identityErrors.sessionInvalid();
}

/** Starts TOTP enrolment: a fresh secret, sealed at rest, returned once as an otpauth:// URI. */
export async function enrolTotp(deps: IdentityDeps, ctx: RequestContext, mfaToken?: string): Promise<{ secret: string; uri: string }> {
  const accountId = await subjectOf(deps, ctx, mfaToken);
  if (!mfaToken) deps.guard.requireRecentMfa(ctx);
  const secret = new OTPAuth.Secret({ size: 20 });
  const sealed = await deps.sealer.seal(sealCtx(accountId), Buffer.from(secret.base32, 'utf8'));
  await deps.db.write(async (tx) => {
    const existing = await findTotp(tx, accountId);
    if (existing?.confirmed_at) throw identityErrors.mfaAlreadyEnrolled();
    await upsertTotp(tx, { account_id: accountId, secret_sealed: sealed, confirmed_at: null, last_step: 0, created_at: deps.clock.now().toISOString() });
    await deps.audit.record(tx, ctx, mfaEvent('mfa.totp.enrol_start', accountId));
  });
  return { secret: secret.base32, uri: totpFor(secret, deps.config.mfa.issuer, accountId).toString() };
}

/** The time step a code matches (±1 step), or null. */
async function matchStep(deps: IdentityDeps, sealed: Uint8Array, accountId: string, code: string): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const base32 = (await deps.sealer.open(sealCtx(accountId), sealed)).toString('utf8');
  const now = deps.clock.now().getTime();
  const delta = totpFor(OTPAuth.Secret.fromBase32(base32), deps.config.mfa.issuer, accountId).validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
}

/** A recovery code's keyed hash, bound to its account (one index key for all accounts: no per-account key cache). */
function recoveryHash(deps: IdentityDeps, accountId: string, code: string): Promise<string> {
  return deps.sealer.index('mfa_recovery_codes', 'code', `${accountId}\u0000${code}`);
}

/** Ten new codes and their keyed hashes, made before any unit of work (the keyring may read its store). */
export async function prepareRecoveryCodes(deps: IdentityDeps, accountId: string): Promise<{ codes: string[]; hashes: string[] }> {
  const codes = newRecoveryCodes();
  return { codes, hashes: await Promise.all(codes.map((c) => recoveryHash(deps, accountId, c))) };
}

/** Replaces the account's recovery codes inside the caller's unit of work; returns the codes to show once. */
export async function storeRecoveryCodes(deps: IdentityDeps, tx: Tx, accountId: string, prepared: { codes: string[]; hashes: string[] }): Promise<string[]> {
  await replaceRecoveryCodes(tx, accountId, prepared.hashes, deps.clock.now().toISOString());
  return prepared.codes;
}

/**
 * Confirms enrolment with a first code: the factor becomes active, ten
 * recovery codes are issued (shown once, stored as keyed hashes) and, at a
 * first login, the pending session becomes a usable one.
 */
export async function confirmTotpEnrolment(
  deps: IdentityDeps,
  ctx: RequestContext,
  code: string,
  mfaToken?: string,
): Promise<{ recoveryCodes: string[]; session?: IssuedSession }> {
  const accountId = await subjectOf(deps, ctx, mfaToken);
  const row = await deps.db.read((tx) => findTotp(tx, accountId));
  if (!row || row.confirmed_at) throw identityErrors.mfaNotEnrolled();
  const step = await matchStep(deps, row.secret_sealed, accountId, code);
  const prepared = await prepareRecoveryCodes(deps, accountId);
  return deps.db.write(async (tx) => {
    if (step === null || !(await advanceTotpStep(tx, accountId, step))) throw identityErrors.mfaInvalid();
    const now = deps.clock.now().toISOString();
    await confirmTotp(tx, accountId, now);
    const recoveryCodes = await storeRecoveryCodes(deps, tx, accountId, prepared);
    await deps.audit.record(tx, ctx, mfaEvent('mfa.totp.enrol', accountId));
    if (!mfaToken) return { recoveryCodes };
    const pending = await pendingSession(deps, tx, mfaToken);
    return { recoveryCodes, session: await activatePending(deps, tx, pending, ctx) };
  });
}

/** Checks a TOTP or recovery code for `accountId`; a used code or step never passes again. */
async function checkCode(deps: IdentityDeps, tx: Tx, accountId: string, method: 'totp' | 'recovery', hash: string | null, step: number | null): Promise<boolean> {
  if (method === 'recovery') return hash !== null && useRecoveryCode(tx, accountId, hash, deps.clock.now().toISOString());
  return step !== null && advanceTotpStep(tx, accountId, step);
}

/**
 * The second step of a login: a TOTP or recovery code against the pending
 * session, counted by the account's MFA throttle. Success replaces the
 * pending token by an active session.
 */
export async function verifyMfa(deps: IdentityDeps, ctx: RequestContext, input: { mfaToken: string; method: 'totp' | 'recovery'; code: string }): Promise<IssuedSession> {
  const pending = await deps.db.read((tx) => pendingSession(deps, tx, input.mfaToken));
  if (pending.state !== 'pending_mfa') throw identityErrors.mfaNotEnrolled();
  const accountId = pending.account_id;
  const key = { key: `mfa:${accountId}`, max: deps.config.lockout.accountMax };
  await deps.throttle.take([key]);
  const totp = await deps.db.read((tx) => findTotp(tx, accountId));
  const step = input.method === 'totp' && totp?.confirmed_at ? await matchStep(deps, totp.secret_sealed, accountId, input.code) : null;
  const recovery = input.method === 'recovery' ? await recoveryHash(deps, accountId, normaliseRecoveryCode(input.code)) : null;
  const target = { type: 'account', id: accountId };
  const account = await deps.db.read((tx) => findAccount(tx, accountId));
  try {
    return await deps.db.write(async (tx) => {
      if (!(await checkCode(deps, tx, accountId, input.method, recovery, step))) throw identityErrors.mfaInvalid();
      const issued = await activatePending(deps, tx, await pendingSession(deps, tx, input.mfaToken), ctx);
      await deps.audit.record(tx, ctx, authEvent('auth.mfa', 'success', target, { method: input.method, sessionId: issued.session.id }, account?.tenant_id));
      await clearThrottle(tx, key.key);
      return issued;
    });
  } catch (e) {
    await deps.throttle.fail([key]);
    await deps.audit.recordAlone(ctx, authEvent('auth.mfa', 'failure', target, { method: input.method }, account?.tenant_id));
    throw e;
  }
}

/** New recovery codes (the old ones stop working); needs a recent second factor. */
export async function regenerateRecoveryCodes(deps: IdentityDeps, ctx: RequestContext): Promise<string[]> {
  if (ctx.actor.type !== 'user') throw identityErrors.sessionInvalid();
  deps.guard.requireRecentMfa(ctx);
  const accountId = ctx.actor.id;
  const prepared = await prepareRecoveryCodes(deps, accountId);
  return deps.db.write(async (tx) => {
    if (!(await hasSecondFactor(tx, accountId))) throw identityErrors.mfaNotEnrolled();
    const codes = await storeRecoveryCodes(deps, tx, accountId, prepared);
    await deps.audit.record(tx, ctx, mfaEvent('mfa.recovery_codes.regenerate', accountId));
    return codes;
  });
}

/** Step-up for a signed-in session: a fresh TOTP code refreshes the session's MFA time. */
export async function stepUp(deps: IdentityDeps, ctx: RequestContext, code: string): Promise<void> {
  const a = ctx.actor;
  if (a.type !== 'user' || !a.sessionId) throw identityErrors.sessionInvalid();
  const sessionId = a.sessionId;
  const key = { key: `mfa:${a.id}`, max: deps.config.lockout.accountMax };
  await deps.throttle.take([key]);
  const totp = await deps.db.read((tx) => findTotp(tx, a.id));
  const step = totp?.confirmed_at ? await matchStep(deps, totp.secret_sealed, a.id, code) : null;
  try {
    await deps.db.write(async (tx) => {
      if (step === null || !(await advanceTotpStep(tx, a.id, step))) throw identityErrors.mfaInvalid();
      await updateSession(tx, sessionId, { mfa_at: deps.clock.now().toISOString() });
      await deps.audit.record(tx, ctx, authEvent('auth.step_up', 'success', { type: 'session', id: sessionId }, { method: 'totp' }, a.tenantId));
    });
    await deps.throttle.succeed(key.key);
  } catch (e) {
    await deps.throttle.fail([key]);
    await deps.audit.recordAlone(ctx, authEvent('auth.step_up', 'failure', { type: 'account', id: a.id }, { method: 'totp' }, a.tenantId));
    throw e;
  }
}
