import type { Guard } from '../access/index.js';
import type { AuditRecorder } from '../audit/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { Actor, RequestContext } from '../shared/context.js';
import * as admin from './admin.js';
import * as keys from './api-keys.js';
import { login, logout, type LoginInput } from './login.js';
import { confirmTotpEnrolment, enrolTotp, regenerateRecoveryCodes, stepUp, verifyMfa } from './mfa.js';
import { createPasswordHasher, type PasswordHasher } from './password.js';
import { changesPrincipals, createPrincipalCache } from './principal-cache.js';
import type { SecretSealer } from './sealer.js';
import { hashToken } from './secrets.js';
import { authenticateSession, listOwnSessions, revokeSessionById } from './sessions.js';
import { completeSetup, issueSetupToken, platformAccountsExist, setupTokenEverIssued } from './setup.js';
import { createThrottle } from './throttle.js';
import * as passkeys from './webauthn.js';
import { API_KEY_PREFIX, SESSION_PREFIX, type IdentityConfig, type IdentityDeps, type IssuedSession } from './types.js';

type Rest<F> = F extends (deps: IdentityDeps, ...args: infer A) => infer R ? (...args: A) => R : never;
const bind = <F extends (deps: IdentityDeps, ...args: never[]) => unknown>(deps: IdentityDeps, fn: F) =>
  ((...args: never[]) => fn(deps, ...args)) as Rest<F>;

/** The identity module's service: accounts, setup, login, sessions, MFA, API keys. */
export function createIdentityService(input: {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  clock: Clock;
  sealer: SecretSealer;
  config: IdentityConfig;
  setupTokenTtlHours: number;
  hasher?: PasswordHasher;
}) {
  const deps: IdentityDeps = {
    ...input,
    hasher: input.hasher ?? createPasswordHasher(),
    throttle: createThrottle({ db: input.db, clock: input.clock, policy: input.config.lockout }),
  };
  // Bearer and cookie resolution reuse a principal for ≤ principalCacheMs (principal-cache.ts has the bounds).
  const principals = createPrincipalCache({ ttlMs: input.config.principalCacheMs, clock: input.clock });
  input.db.onWrite((touched) => {
    if (changesPrincipals(touched)) principals.clear();
  });
  const session = (token: string): Promise<Actor | undefined> =>
    token.startsWith(SESSION_PREFIX) ? principals.resolve(`s:${hashToken(token)}`, () => authenticateSession(deps, token)) : authenticateSession(deps, token);
  // Keyed with the address too: a key used from a new address is resolved again, which records that address.
  const apiKey = (token: string, ip: string | null): Promise<Actor | undefined> =>
    token.startsWith(API_KEY_PREFIX)
      ? principals.resolve(`k:${hashToken(token)}:${ip ?? ''}`, () => keys.authenticateApiKey(deps, token, ip))
      : keys.authenticateApiKey(deps, token, ip);
  return {
    deps,
    issueSetupToken: bind(deps, issueSetupToken),
    setupTokenEverIssued: bind(deps, setupTokenEverIssued),
    platformAccountsExist: bind(deps, platformAccountsExist),
    completeSetup: bind(deps, completeSetup),
    login: (ctx: RequestContext, i: LoginInput): Promise<IssuedSession> => login(deps, ctx, i),
    logout: bind(deps, logout),
    verifyMfa: bind(deps, verifyMfa),
    enrolTotp: bind(deps, enrolTotp),
    confirmTotp: bind(deps, confirmTotpEnrolment),
    regenerateRecoveryCodes: bind(deps, regenerateRecoveryCodes),
    stepUp: bind(deps, stepUp),
    listSessions: bind(deps, listOwnSessions),
    revokeSession: bind(deps, revokeSessionById),
    invite: bind(deps, admin.invite),
    acceptInvitation: bind(deps, admin.acceptInvitation),
    getAccount: bind(deps, admin.getAccount),
    deactivate: bind(deps, admin.deactivate),
    changePassword: bind(deps, admin.changePassword),
    passkeyRegistrationOptions: bind(deps, passkeys.passkeyRegistrationOptions),
    verifyPasskeyRegistration: bind(deps, passkeys.verifyPasskeyRegistration),
    passkeyAuthenticationOptions: bind(deps, passkeys.passkeyAuthenticationOptions),
    verifyPasskeyLogin: bind(deps, passkeys.verifyPasskeyLogin),
    listPasskeys: bind(deps, passkeys.listPasskeys),
    deletePasskey: bind(deps, passkeys.deletePasskey),
    createApiKey: bind(deps, keys.createApiKey),
    rotateApiKey: bind(deps, keys.rotateApiKey),
    revokeApiKey: bind(deps, keys.revokeApiKey),
    listApiKeys: bind(deps, keys.listTenantApiKeys),
    /** Bearer resolution for the auth hook: `css_` sessions and `cus_` API keys. */
    authenticateBearer: async (token: string, sourceIp: string | null): Promise<Actor | undefined> => (await session(token)) ?? (await apiKey(token, sourceIp)),
    authenticateSession: session,
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
