import * as OTPAuth from 'otpauth';
import type { Custos } from '../../src/main.js';
import { systemContext, type RequestContext } from '../../src/shared/context.js';

export const ADMIN_PASSWORD = 'correct horse battery staple 42';

/** The current TOTP code of a base32 secret at the app's clock time. */
export function totpCode(secret: string, at: Date, offsetSteps = 0): string {
  return OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromBase32(secret), timestamp: at.getTime() + offsetSteps * 30_000 });
}

const ctx = (): RequestContext => ({ ...systemContext('test'), actor: { type: 'anonymous' }, sourceIp: '127.0.0.1' });

export interface AdminCredential {
  token: string;
  csrfToken: string;
  accountId: string;
  totpSecret: string;
  recoveryCodes: string[];
  email: string;
}

/**
 * The first platform admin, made the way an operator does it: setup token →
 * account → TOTP enrolment → active session (a `css_` bearer token).
 */
export async function setupAdmin(custos: Custos, now: () => Date = () => new Date(), email = 'admin@example.test'): Promise<AdminCredential> {
  const { token: setupToken } = await custos.identity.issueSetupToken(systemContext('test'), 24);
  const pending = await custos.identity.completeSetup(ctx(), { token: setupToken, email, name: 'Ada Admin', password: ADMIN_PASSWORD });
  const { secret } = await custos.identity.enrolTotp(ctx(), pending.token);
  const confirmed = await custos.identity.confirmTotp(ctx(), totpCode(secret, now()), pending.token);
  const session = confirmed.session;
  if (!session) throw new Error('setup did not yield a session');
  const actor = await custos.identity.authenticateSession(session.token);
  return { token: session.token, csrfToken: session.csrfToken, accountId: actor?.type === 'user' ? actor.id : '', totpSecret: secret, recoveryCodes: confirmed.recoveryCodes, email };
}

export interface PersonCredential {
  token: string;
  accountId: string;
  totpSecret: string | null;
}

/**
 * Another person, invited by the system into the platform (tenantId null) or a
 * tenant with `roles`, who accepts, logs in and enrols TOTP when it is due:
 * returns an active `css_` bearer session.
 */
export async function createPerson(
  custos: Custos,
  input: { email: string; roles: string[]; tenantId?: string | null; now?: () => Date },
): Promise<PersonCredential> {
  const now = input.now ?? (() => new Date());
  const tenantId = input.tenantId ?? null;
  const { token: invitation } = await custos.identity.invite(systemContext('test'), { tenantId, email: input.email, roles: input.roles });
  const account = await custos.identity.acceptInvitation(ctx(), { token: invitation, email: input.email, name: 'Pat Person', password: ADMIN_PASSWORD });
  const issued = await custos.identity.login(ctx(), { email: input.email, password: ADMIN_PASSWORD, tenantId: tenantId ?? undefined });
  if (issued.next === 'none') return { token: issued.token, accountId: account.id, totpSecret: null };
  const { secret } = await custos.identity.enrolTotp(ctx(), issued.token);
  const confirmed = await custos.identity.confirmTotp(ctx(), totpCode(secret, now()), issued.token);
  if (!confirmed.session) throw new Error('enrolment did not yield a session');
  return { token: confirmed.session.token, accountId: account.id, totpSecret: secret };
}

/** A clock tests move by hand (lockouts, TTLs, grant expiry). */
export function fakeClock(start = Date.parse('2030-01-01T00:00:00Z')): { now: () => Date; advance: (ms: number) => void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}
