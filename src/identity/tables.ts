/**
 * Row types of the identity tables (migration 0006-identity), merged into
 * the one `Database` interface so Kysely knows them without the shared
 * db/types.ts carrying this module's columns.
 */
export interface AccountsTable {
  id: string;
  /** 'platform' or the tenant id. */
  realm: string;
  tenant_id: string | null;
  /** HMAC blind index of the normalised email: equality lookup without the value. */
  email_index: string;
  email_sealed: Uint8Array;
  name_sealed: Uint8Array;
  password_hash: string | null;
  status: 'active' | 'deactivated';
  /** JSON array of role names (platform roles or tenant roles, by realm). */
  roles: string;
  mfa_required: number;
  created_at: string;
  updated_at: string;
  password_changed_at: string | null;
  deactivated_at: string | null;
  /** Set by a SIEM response (migration 0010-siem): login refused (AUTH_ACCOUNT_LOCKED) and sessions rejected until unlocked. */
  locked_at?: string | null;
}

export interface InvitationsTable {
  id: string;
  token_hash: string;
  realm: string;
  tenant_id: string | null;
  email_index: string;
  roles: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  account_id: string;
  state: 'pending_mfa' | 'enrol_mfa' | 'active';
  created_at: string;
  last_seen_at: string;
  absolute_expires_at: string;
  mfa_at: string | null;
  /** Pending WebAuthn challenge of this session, if any. */
  challenge: string | null;
  source_ip: string | null;
  revoked_at: string | null;
}

export interface AuthThrottleTable {
  key: string;
  attempts: number;
  window_start: string;
  /** '' when not locked (plain string comparison on both dialects). */
  locked_until: string;
  lockouts: number;
}

export interface MfaTotpTable {
  account_id: string;
  secret_sealed: Uint8Array;
  confirmed_at: string | null;
  last_step: number;
  created_at: string;
}

export interface MfaRecoveryCodesTable {
  account_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

export interface WebauthnCredentialsTable {
  id: string;
  account_id: string;
  public_key: Uint8Array;
  counter: number;
  transports: string;
  created_at: string;
  last_used_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  token_hash: string;
  permissions: string;
  purposes: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  revoked_at: string | null;
  replaced_by: string | null;
  flagged_at: string | null;
  flag_reason: string | null;
  /** Set by a SIEM response (migration 0010-siem): the key authenticates nothing until resumed. */
  suspended_at?: string | null;
}

export interface TenantRolesTable {
  tenant_id: string;
  name: string;
  permissions: string;
  purposes: string;
  created_at: string;
}

export interface AccessRequestsTable {
  id: string;
  account_id: string;
  tenant_id: string | null;
  /** A built-in role or a single permission. */
  role: string;
  /** JSON array of purposes asked for (tenant scope only). */
  purposes: string;
  reason_sealed: Uint8Array;
  duration_minutes: number;
  status: 'pending' | 'approved' | 'denied' | 'revoked' | 'expired';
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
  expires_at: string | null;
  /** When a grant was revoked or recorded as expired. */
  ended_at: string | null;
}

declare module '../db/types.js' {
  interface Database {
    accounts: AccountsTable;
    invitations: InvitationsTable;
    sessions: SessionsTable;
    auth_throttle: AuthThrottleTable;
    mfa_totp: MfaTotpTable;
    mfa_recovery_codes: MfaRecoveryCodesTable;
    webauthn_credentials: WebauthnCredentialsTable;
    api_keys: ApiKeysTable;
    tenant_roles: TenantRolesTable;
    access_requests: AccessRequestsTable;
  }
}
