import { ACTIVITY, OCSF } from '../audit/index.js';
import { BUILTIN_ROLES } from '../access/index.js';
import type { Tx } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { identityErrors } from './errors.js';
import { checkPassword } from './password.js';
import { hashToken, newToken, normaliseEmail } from './secrets.js';
import { findAccountByEmail, insertAccount } from './store.js';
import type { AccountsTable } from './tables.js';
import type { Account, IdentityDeps } from './types.js';

export const PLATFORM_REALM = 'platform';

export function toAccount(row: AccountsTable): Account {
  return {
    id: row.id,
    realm: row.realm === PLATFORM_REALM ? 'platform' : 'tenant',
    tenantId: row.tenant_id,
    roles: JSON.parse(row.roles) as string[],
    status: row.status,
    mfaRequired: row.mfa_required === 1,
    createdAt: row.created_at,
  };
}

export function emailIndex(deps: IdentityDeps, email: string): Promise<string> {
  return deps.sealer.index('accounts', 'email', normaliseEmail(email));
}

export function realmOf(tenantId: string | null | undefined): string {
  return tenantId ?? PLATFORM_REALM;
}

/** Platform roles must be platform roles; tenant roles tenant roles or the tenant's custom roles (checked by the caller). */
export function checkBuiltinRoles(roles: readonly string[], realm: 'platform' | 'tenant', custom: readonly string[] = []): void {
  for (const r of roles) {
    const def = BUILTIN_ROLES[r];
    if (def ? def.realm !== realm : !(realm === 'tenant' && custom.includes(r))) throw identityErrors.roleUnknown(r);
  }
}

export interface NewAccountInput {
  tenantId: string | null;
  email: string;
  name: string;
  password: string;
  roles: string[];
}

/** Checks the password and hashes it (off the event loop), before any unit of work. */
export async function prepareAccount(deps: IdentityDeps, input: NewAccountInput): Promise<AccountsTable> {
  checkPassword(deps.config.password, input.password, { email: normaliseEmail(input.email), name: input.name });
  const passwordHash = await deps.hasher.hash(input.password);
  const id = newId();
  const realm = realmOf(input.tenantId);
  const owner = input.tenantId ?? '_platform';
  const now = deps.clock.now().toISOString();
  const seal = (field: string, v: string) => deps.sealer.seal({ tenantId: owner, purpose: 'accounts', objectId: id, field }, Buffer.from(v, 'utf8'));
  return {
    id,
    realm,
    tenant_id: input.tenantId,
    email_index: await emailIndex(deps, input.email),
    email_sealed: await seal('email', normaliseEmail(input.email)),
    name_sealed: await seal('name', input.name),
    password_hash: passwordHash,
    status: 'active',
    roles: JSON.stringify(input.roles),
    mfa_required: input.tenantId === null || deps.config.mfa.tenantRequired ? 1 : 0,
    created_at: now,
    updated_at: now,
    password_changed_at: now,
    deactivated_at: null,
  };
}

/** Inserts a prepared account inside the caller's unit of work, with its audit event. */
export async function insertNewAccount(deps: IdentityDeps, tx: Tx, ctx: RequestContext, row: AccountsTable, via: string): Promise<void> {
  if (await findAccountByEmail(tx, row.realm, row.email_index)) throw identityErrors.emailTaken();
  await insertAccount(tx, row);
  await deps.audit.record(tx, ctx, {
    classUid: OCSF.ACCOUNT_CHANGE,
    activityId: ACTIVITY.CREATE,
    action: 'account.create',
    kind: 'change',
    outcome: 'success',
    tenantId: row.tenant_id,
    target: { type: 'account', id: row.id },
    details: { via, roles: JSON.parse(row.roles) as string[] },
  });
}

/** A single-use token: the plaintext is returned once, its SHA-256 stored. */
export function newSecretToken(prefix: string): { token: string; hash: string } {
  const token = newToken(prefix);
  return { token, hash: hashToken(token) };
}
