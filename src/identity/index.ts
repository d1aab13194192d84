import type { App } from '../server/types.js';
import { registerAdminRoutes } from './routes-admin.js';
import { registerAuthRoutes } from './routes.js';
import { registerWebauthnRoutes } from './routes-webauthn.js';
import type { IdentityService } from './service.js';

export { createIdentityService, type IdentityService } from './service.js';
export { createFileSealer, createKeyringSealer, type PlatformKeyring, type SecretSealer, type SealContext } from './sealer.js';
export { createPasswordHasher, checkPassword, type PasswordHasher } from './password.js';
export { csrfMatches, csrfTokenOf } from './sessions.js';
export { SESSION_COOKIE } from './routes.js';
export { hashToken } from './secrets.js';
export { lockAccount, unlockAccount, revokeAllSessions, restoreRevokedSessions, suspendApiKey, resumeApiKey, type LockDeps } from './locks.js';
export type { Account, IssuedSession, SessionInfo } from './types.js';
export { SESSION_PREFIX, SETUP_PREFIX, API_KEY_PREFIX } from './types.js';

/** Registers the identity routes (auth, setup, invitations, accounts, API keys). */
export function registerIdentityRoutes(app: App, identity: IdentityService): void {
  registerAuthRoutes(app, identity);
  registerWebauthnRoutes(app, identity);
  registerAdminRoutes(app, identity);
}
