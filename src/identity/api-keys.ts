import { ACTIVITY, OCSF } from '../audit/index.js';
import { isPurpose, isTenantPermission } from '../access/index.js';
import type { Tx } from '../db/index.js';
import type { Actor, RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { newSecretToken } from './accounts.js';
import { identityErrors } from './errors.js';
import { hashToken } from './secrets.js';
import { findApiKey, findApiKeyByHash, flagApiKeysBy, flagOldApiKeys, insertApiKey, listApiKeys, touchApiKey, updateApiKey } from './store-keys.js';
import type { ApiKeysTable } from './tables.js';
import { API_KEY_PREFIX, type IdentityDeps } from './types.js';

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  permissions: string[];
  purposes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  revokedAt: string | null;
  replacedBy: string | null;
  flaggedAt: string | null;
  flagReason: string | null;
}

export function toApiKey(r: ApiKeysTable): ApiKey {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    permissions: JSON.parse(r.permissions) as string[],
    purposes: JSON.parse(r.purposes) as string[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    lastUsedIp: r.last_used_ip,
    revokedAt: r.revoked_at,
    replacedBy: r.replaced_by,
    flaggedAt: r.flagged_at,
    flagReason: r.flag_reason,
  };
}

const keyEvent = (action: string, tenantId: string, id: string, details: Record<string, string | number | null | string[]> = {}) => ({
  classUid: OCSF.ACCOUNT_CHANGE,
  activityId: action.endsWith('create') ? ACTIVITY.CREATE : ACTIVITY.UPDATE,
  action,
  kind: 'security' as const,
  outcome: 'success' as const,
  tenantId,
  target: { type: 'api_key', id },
  details,
});

export interface NewApiKeyInput {
  tenantId: string;
  name: string;
  permissions: string[];
  purposes: string[];
  expiresInDays?: number | undefined;
}

/** Creates a key scoped to one tenant, tenant permissions and purposes; the `cus_` token is returned once, stored hashed. */
export async function createApiKey(deps: IdentityDeps, ctx: RequestContext, input: NewApiKeyInput): Promise<{ key: ApiKey; token: string }> {
  await deps.guard.assert(ctx, 'api_keys:manage', { tenantId: input.tenantId });
  for (const p of input.permissions) if (!isTenantPermission(p)) throw identityErrors.apiKeyScope(`permission ${p}`);
  for (const p of input.purposes) if (!isPurpose(p)) throw identityErrors.apiKeyScope(`purpose ${p}`);
  const { token, hash } = newSecretToken(API_KEY_PREFIX);
  const now = deps.clock.now();
  const row: ApiKeysTable = {
    id: newId(),
    tenant_id: input.tenantId,
    name: input.name,
    token_hash: hash,
    permissions: JSON.stringify(input.permissions),
    purposes: JSON.stringify(input.purposes),
    created_by: ctx.actor.type === 'anonymous' ? 'anonymous' : ctx.actor.id,
    created_at: now.toISOString(),
    expires_at: input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * 86_400_000).toISOString() : null,
    last_used_at: null,
    last_used_ip: null,
    revoked_at: null,
    replaced_by: null,
    flagged_at: null,
    flag_reason: null,
  };
  await deps.db.write(async (tx) => {
    await insertApiKey(tx, row);
    await deps.audit.record(tx, ctx, keyEvent('api_key.create', row.tenant_id, row.id, { permissions: input.permissions, purposes: input.purposes }));
  });
  return { key: toApiKey(row), token };
}

async function ownKey(deps: IdentityDeps, ctx: RequestContext, tenantId: string, id: string): Promise<ApiKeysTable> {
  await deps.guard.assert(ctx, 'api_keys:manage', { tenantId });
  const row = await deps.db.read((tx) => findApiKey(tx, id));
  if (!row || row.tenant_id !== tenantId) throw await deps.guard.scopeMiss(ctx, { tenantId, type: 'api_key', id });
  return row;
}

/**
 * Rotation: a new key with the same scope; the old one keeps working until
 * the overlap window ends (its expiry is moved to then), so callers switch
 * without downtime.
 */
export async function rotateApiKey(deps: IdentityDeps, ctx: RequestContext, tenantId: string, id: string): Promise<{ key: ApiKey; token: string }> {
  const old = await ownKey(deps, ctx, tenantId, id);
  if (old.revoked_at) throw identityErrors.apiKeyNotFound();
  const created = await createApiKey(deps, ctx, {
    tenantId,
    name: old.name,
    permissions: JSON.parse(old.permissions) as string[],
    purposes: JSON.parse(old.purposes) as string[],
  });
  const overlapEnds = new Date(deps.clock.now().getTime() + deps.config.apiKeys.rotationOverlapHours * 3600_000).toISOString();
  await deps.db.write(async (tx) => {
    const until = old.expires_at && old.expires_at < overlapEnds ? old.expires_at : overlapEnds;
    await updateApiKey(tx, id, { replaced_by: created.key.id, expires_at: until });
    await deps.audit.record(tx, ctx, keyEvent('api_key.rotate', tenantId, id, { replacedBy: created.key.id, overlapEnds: until }));
  });
  return created;
}

export async function revokeApiKey(deps: IdentityDeps, ctx: RequestContext, tenantId: string, id: string): Promise<void> {
  const row = await ownKey(deps, ctx, tenantId, id);
  await deps.db.write(async (tx) => {
    await updateApiKey(tx, row.id, { revoked_at: deps.clock.now().toISOString() });
    await deps.audit.record(tx, ctx, keyEvent('api_key.revoke', tenantId, id));
  });
}

/** Lists a tenant's keys; keys older than the age policy are flagged first (M26). */
export async function listTenantApiKeys(deps: IdentityDeps, ctx: RequestContext, tenantId: string): Promise<ApiKey[]> {
  await deps.guard.assert(ctx, 'api_keys:read', { tenantId });
  const now = deps.clock.now();
  const cutoff = new Date(now.getTime() - deps.config.apiKeys.maxAgeDays * 86_400_000).toISOString();
  await deps.db.write(async (tx) => {
    const n = await flagOldApiKeys(tx, tenantId, cutoff, now.toISOString(), `older than ${deps.config.apiKeys.maxAgeDays} days`);
    if (n) await deps.audit.record(tx, ctx, keyEvent('api_key.flag_age', tenantId, tenantId, { flagged: n }));
  });
  return (await deps.db.read((tx) => listApiKeys(tx, tenantId))).map(toApiKey);
}

/** Offboarding: flags keys the account created. */
export async function flagKeysOf(tx: Tx, accountId: string, now: string, reason: string): Promise<number> {
  return flagApiKeysBy(tx, accountId, now, reason);
}

const TOUCH_MS = 60_000;

/** The actor of a live `cus_` key; records last use (at most once a minute) with the address. */
export async function authenticateApiKey(deps: IdentityDeps, token: string, sourceIp: string | null): Promise<Actor | undefined> {
  if (!token.startsWith(API_KEY_PREFIX) || token.length > 100) return undefined;
  const now = deps.clock.now();
  const iso = now.toISOString();
  const row = await deps.db.read((tx) => findApiKeyByHash(tx, hashToken(token)));
  if (!row || row.revoked_at || row.suspended_at || (row.expires_at && row.expires_at <= iso)) return undefined;
  if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > TOUCH_MS || row.last_used_ip !== sourceIp) {
    await deps.db.write((tx) => touchApiKey(tx, row.id, iso, sourceIp));
  }
  return { type: 'api_key', id: row.id, tenantId: row.tenant_id, permissions: JSON.parse(row.permissions) as string[], purposes: JSON.parse(row.purposes) as string[] };
}
