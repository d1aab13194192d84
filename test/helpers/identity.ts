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
