import type { AuditRecorder } from '../audit/index.js';
import type { Guard } from '../access/index.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { PasswordHasher } from './password.js';
import type { SecretSealer } from './sealer.js';
import type { Throttle } from './throttle.js';

export type IdentityConfig = Config['identity'];

/** Everything the identity services share; built once in createIdentity. */
export interface IdentityDeps {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  clock: Clock;
  sealer: SecretSealer;
  hasher: PasswordHasher;
  throttle: Throttle;
  config: IdentityConfig;
  setupTokenTtlHours: number;
}

export interface Account {
  id: string;
  realm: 'platform' | 'tenant';
  tenantId: string | null;
  roles: string[];
  status: 'active' | 'deactivated';
  mfaRequired: boolean;
  createdAt: string;
}

export interface SessionInfo {
  id: string;
  state: 'pending_mfa' | 'enrol_mfa' | 'active';
  createdAt: string;
  lastSeenAt: string;
  absoluteExpiresAt: string;
  mfaAt: string | null;
  current: boolean;
}

/** A new session: the token is returned once (cookie or bearer) and stored hashed. */
export interface IssuedSession {
  token: string;
  csrfToken: string;
  session: SessionInfo;
  /** What the session still needs before it is usable. */
  next: 'none' | 'mfa' | 'enrol_mfa';
}

export const SESSION_PREFIX = 'css_';
export const SETUP_PREFIX = 'cst_';
export const INVITE_PREFIX = 'csi_';
export const API_KEY_PREFIX = 'cus_';
