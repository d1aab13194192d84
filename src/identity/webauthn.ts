import { randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { ACTIVITY, OCSF } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import { identityErrors } from './errors.js';
import { authEvent } from './login.js';
import { hasSecondFactor, prepareRecoveryCodes, storeRecoveryCodes, subjectOf } from './mfa.js';
import { activatePending, pendingSession } from './sessions.js';
import { clearThrottle, findAccount, findSession } from './store.js';
import * as store from './store-webauthn.js';
import type { SessionsTable } from './tables.js';
import type { IdentityDeps, IssuedSession } from './types.js';

const CHALLENGE_MS = 5 * 60_000;

export interface Passkey {
  id: string;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

function rp(deps: IdentityDeps) {
  const w = deps.config.mfa.webauthn;
  return { rpID: w.rpId, rpName: w.rpName, origins: w.origins };
}

/** A challenge is stored on its session as `kind.challenge.expiresMs` and taken once. */
async function storeChallenge(deps: IdentityDeps, sessionId: string, kind: 'reg' | 'auth', challenge: string): Promise<void> {
  const expires = deps.clock.now().getTime() + CHALLENGE_MS;
  await deps.db.write((tx) => store.setChallenge(tx, sessionId, `${kind}.${challenge}.${expires}`));
}

async function takeChallenge(deps: IdentityDeps, sessionId: string, kind: 'reg' | 'auth'): Promise<string> {
  return deps.db.write(async (tx) => {
    const row = await findSession(tx, sessionId);
    const [k, challenge, expires] = (row?.challenge ?? '').split('.');
    if (!row?.challenge || k !== kind || !challenge || Number(expires) <= deps.clock.now().getTime()) throw identityErrors.challengeInvalid();
    if (!(await store.takeChallenge(tx, row, row.challenge))) throw identityErrors.challengeInvalid();
    return challenge;
  });
}

/** Whose passkey, on which session: a login that must enrol (mfaToken), or a signed-in person after step-up. */
async function registrant(deps: IdentityDeps, ctx: RequestContext, mfaToken?: string): Promise<{ accountId: string; sessionId: string }> {
  const accountId = await subjectOf(deps, ctx, mfaToken);
  if (mfaToken) return { accountId, sessionId: (await deps.db.read((tx) => pendingSession(deps, tx, mfaToken))).id };
  deps.guard.requireRecentMfa(ctx);
  if (ctx.actor.type !== 'user' || !ctx.actor.sessionId) throw identityErrors.sessionInvalid();
  return { accountId, sessionId: ctx.actor.sessionId };
}

const transportsOf = (json: string) => JSON.parse(json) as AuthenticatorTransport[];

export async function passkeyRegistrationOptions(deps: IdentityDeps, ctx: RequestContext, mfaToken?: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { accountId, sessionId } = await registrant(deps, ctx, mfaToken);
  const existing = await deps.db.read((tx) => store.listCredentials(tx, accountId));
  const { rpID, rpName } = rp(deps);
  const options = await generateRegistrationOptions({
    rpName,
    rpID,
    userName: accountId,
    userID: Buffer.from(accountId.replaceAll('-', ''), 'hex'),
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: transportsOf(c.transports) })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    supportedAlgorithmIDs: [-7, -8, -257],
  });
  await storeChallenge(deps, sessionId, 'reg', options.challenge);
  return options;
}

/**
 * Verifies an attestation (any format; "none" accepted: Custos trusts the
 * key, not the maker) and stores the credential. The first factor of an
 * account also brings its ten recovery codes; at a first login the pending
 * session becomes a usable one.
 */
export async function verifyPasskeyRegistration(
  deps: IdentityDeps,
  ctx: RequestContext,
  input: { response: RegistrationResponseJSON; mfaToken?: string | undefined },
): Promise<{ passkey: Passkey; recoveryCodes?: string[]; session?: IssuedSession }> {
  const { accountId, sessionId } = await registrant(deps, ctx, input.mfaToken);
  const expectedChallenge = await takeChallenge(deps, sessionId, 'reg');
  const { rpID, origins } = rp(deps);
  const result = await verifyRegistrationResponse({ response: input.response, expectedChallenge, expectedOrigin: origins, expectedRPID: rpID, requireUserVerification: false }).catch(
    (e: unknown) => {
      throw identityErrors.passkeyRejected(e instanceof Error ? e.message : 'malformed');
    },
  );
  if (!result.verified) throw identityErrors.passkeyRejected('not verified');
  const { credential } = result.registrationInfo;
  const now = deps.clock.now().toISOString();
  const row = { id: credential.id, account_id: accountId, public_key: credential.publicKey, counter: credential.counter, transports: JSON.stringify(credential.transports ?? []), created_at: now, last_used_at: null };
  const prepared = await prepareRecoveryCodes(deps, accountId);
  return deps.db.write(async (tx) => {
    if (await store.credentialExists(tx, row.id)) throw identityErrors.mfaAlreadyEnrolled();
    const first = !(await hasSecondFactor(tx, accountId));
    await store.insertCredential(tx, row);
    await deps.audit.record(tx, ctx, { classUid: OCSF.ACCOUNT_CHANGE, activityId: ACTIVITY.UPDATE, action: 'mfa.webauthn.register', kind: 'security', outcome: 'success', severity: 'medium', target: { type: 'account', id: accountId }, details: { credential: row.id } });
    const passkey = { id: row.id, transports: transportsOf(row.transports), createdAt: now, lastUsedAt: null };
    const recoveryCodes = first ? await storeRecoveryCodes(deps, tx, accountId, prepared) : undefined;
    if (!input.mfaToken) return { passkey, ...(recoveryCodes ? { recoveryCodes } : {}) };
    const pending = await pendingSession(deps, tx, input.mfaToken);
    return { passkey, ...(recoveryCodes ? { recoveryCodes } : {}), session: await activatePending(deps, tx, pending, ctx) };
  });
}

/** Options for the second step of a login whose account has a passkey. */
export async function passkeyAuthenticationOptions(deps: IdentityDeps, ctx: RequestContext, mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const pending = await deps.db.read((tx) => pendingSession(deps, tx, mfaToken));
  if (pending.state !== 'pending_mfa') throw identityErrors.mfaNotEnrolled();
  const creds = await deps.db.read((tx) => store.listCredentials(tx, pending.account_id));
  if (!creds.length) throw identityErrors.mfaNotEnrolled();
  const options = await generateAuthenticationOptions({
    rpID: rp(deps).rpID,
    allowCredentials: creds.map((c) => ({ id: c.id, transports: transportsOf(c.transports) })),
    userVerification: 'preferred',
    challenge: randomBytes(32),
  });
  await storeChallenge(deps, pending.id, 'auth', options.challenge);
  return options;
}

async function checkAssertion(deps: IdentityDeps, ctx: RequestContext, pending: SessionsTable, response: AuthenticationResponseJSON, expectedChallenge: string) {
  const creds = await deps.db.read((tx) => store.listCredentials(tx, pending.account_id));
  const cred = creds.find((c) => c.id === response.id);
  if (!cred) throw identityErrors.mfaInvalid();
  const { rpID, origins } = rp(deps);
  try {
    const r = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: origins,
      expectedRPID: rpID,
      credential: { id: cred.id, publicKey: new Uint8Array(cred.public_key), counter: cred.counter, transports: transportsOf(cred.transports) },
      requireUserVerification: false,
    });
    if (!r.verified) throw identityErrors.mfaInvalid();
    return { cred, newCounter: r.authenticationInfo.newCounter };
  } catch (e) {
    if (e instanceof Error && /counter value/i.test(e.message)) {
      // A signature counter that went back means a cloned authenticator or a replay: a security event.
      await deps.audit.recordAlone(ctx, { ...authEvent('auth.webauthn.counter_regression', 'failure', { type: 'account', id: pending.account_id }, { credential: cred.id }), severity: 'high' });
    }
    throw identityErrors.mfaInvalid();
  }
}

/** The second step of a login with a passkey; counted by the account's MFA throttle like codes are. */
export async function verifyPasskeyLogin(deps: IdentityDeps, ctx: RequestContext, input: { mfaToken: string; response: AuthenticationResponseJSON }): Promise<IssuedSession> {
  const pending = await deps.db.read((tx) => pendingSession(deps, tx, input.mfaToken));
  if (pending.state !== 'pending_mfa') throw identityErrors.mfaNotEnrolled();
  const key = { key: `mfa:${pending.account_id}`, max: deps.config.lockout.accountMax };
  await deps.throttle.take([key]);
  const account = await deps.db.read((tx) => findAccount(tx, pending.account_id));
  const target = { type: 'account', id: pending.account_id };
  try {
    const challenge = await takeChallenge(deps, pending.id, 'auth');
    const { cred, newCounter } = await checkAssertion(deps, ctx, pending, input.response, challenge);
    const issued = await deps.db.write(async (tx) => {
      if (!(await store.advanceCounter(tx, cred.id, pending.account_id, cred.counter, newCounter, deps.clock.now().toISOString()))) throw identityErrors.mfaInvalid();
      const issued = await activatePending(deps, tx, await pendingSession(deps, tx, input.mfaToken), ctx);
      await deps.audit.record(tx, ctx, authEvent('auth.mfa', 'success', target, { method: 'webauthn', credential: cred.id, sessionId: issued.session.id }, account?.tenant_id));
      await clearThrottle(tx, key.key);
      return issued;
    });
    return issued;
  } catch (e) {
    await deps.throttle.fail([key]);
    await deps.audit.recordAlone(ctx, authEvent('auth.mfa', 'failure', target, { method: 'webauthn' }, account?.tenant_id));
    throw e;
  }
}

export async function listPasskeys(deps: IdentityDeps, ctx: RequestContext): Promise<Passkey[]> {
  if (ctx.actor.type !== 'user') throw identityErrors.sessionInvalid();
  const id = ctx.actor.id;
  const rows = await deps.db.read((tx: Tx) => store.listCredentials(tx, id));
  return rows.map((r) => ({ id: r.id, transports: transportsOf(r.transports), createdAt: r.created_at, lastUsedAt: r.last_used_at }));
}

/** Removes one of one's passkeys (step-up); the last second factor of an account that must have one stays. */
export async function deletePasskey(deps: IdentityDeps, ctx: RequestContext, credentialId: string): Promise<void> {
  if (ctx.actor.type !== 'user') throw identityErrors.sessionInvalid();
  deps.guard.requireRecentMfa(ctx);
  const accountId = ctx.actor.id;
  await deps.db.write(async (tx) => {
    if (!(await store.deleteCredential(tx, credentialId, accountId))) throw identityErrors.passkeyNotFound();
    const account = await findAccount(tx, accountId);
    if (account?.mfa_required && !(await hasSecondFactor(tx, accountId))) throw identityErrors.mfaAlreadyEnrolled();
    await deps.audit.record(tx, ctx, { classUid: OCSF.ACCOUNT_CHANGE, activityId: ACTIVITY.UPDATE, action: 'mfa.webauthn.remove', kind: 'security', outcome: 'success', severity: 'medium', target: { type: 'account', id: accountId }, details: { credential: credentialId } });
  });
}
