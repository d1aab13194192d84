import type { Actor } from '../shared/context.js';
import { createError } from '../shared/errors.js';
import { BUILTIN_ROLES, isTenantPermission, type Permission } from './permissions.js';

export interface Scope {
  /** The tenant the operation touches; absent for platform-wide operations. */
  tenantId?: string | undefined;
}

/** allow; deny (403); or `foreign`: the actor belongs to another tenant, answered as 404 (no existence leak). */
export type Decision = 'allow' | 'deny' | 'unauthenticated' | 'foreign';

type UserActor = Extract<Actor, { type: 'user' }>;

function rolePermissions(roles: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const r of roles) for (const p of BUILTIN_ROLES[r]?.permissions ?? []) out.add(p);
  return out;
}

function grantAllows(actor: UserActor, permission: Permission, scope: Scope): boolean {
  return (actor.grants ?? []).some((g) => (g.tenantId === null || g.tenantId === scope.tenantId) && g.permissions.includes(permission));
}

function decideUser(actor: UserActor, permission: Permission, scope: Scope): Decision {
  if (grantAllows(actor, permission, scope)) return 'allow';
  if (actor.tenantId) {
    // A tenant member acts only inside its own tenant; anything else is "not found".
    if (!scope.tenantId) return 'deny';
    if (scope.tenantId !== actor.tenantId) return 'foreign';
    return (actor.permissions ?? []).includes(permission) ? 'allow' : 'deny';
  }
  return rolePermissions(actor.platformRoles).has(permission) ? 'allow' : 'deny';
}

/** Decides, without side effects, whether `actor` may do `permission` in `scope`. */
export function decide(actor: Actor, permission: Permission, scope: Scope): Decision {
  switch (actor.type) {
    case 'anonymous':
      return 'unauthenticated';
    case 'bootstrap':
    case 'system':
      return 'allow';
    case 'user':
      return decideUser(actor, permission, scope);
    case 'api_key':
      if (!scope.tenantId || scope.tenantId !== actor.tenantId) return scope.tenantId ? 'foreign' : 'deny';
      return isTenantPermission(permission) && actor.permissions.includes(permission) ? 'allow' : 'deny';
  }
}

/** The purposes for which `actor` may read personal data in `scope` (need to know, M66). */
export function purposesOf(actor: Actor, scope: Scope): Set<string> {
  const out = new Set<string>();
  if (actor.type === 'system') return new Set(['security', 'app_functionality', 'support', 'data_subject_request']);
  if (actor.type === 'api_key') {
    if (scope.tenantId === actor.tenantId) for (const p of actor.purposes) out.add(p);
    return out;
  }
  if (actor.type !== 'user') return out;
  for (const g of actor.grants ?? []) if (g.tenantId === null || g.tenantId === scope.tenantId) for (const p of g.purposes) out.add(p);
  if (actor.tenantId) {
    if (actor.tenantId === scope.tenantId) for (const p of actor.purposes ?? []) out.add(p);
  } else {
    for (const r of actor.platformRoles) for (const p of BUILTIN_ROLES[r]?.purposes ?? []) out.add(p);
  }
  return out;
}

/**
 * Throws the matching coded error unless allowed. `foreign` throws a 404 with
 * code TENANT_NOT_FOUND and `crossTenant: true` so the caller can record the
 * security event before answering.
 */
export function assertAllowed(actor: Actor, permission: Permission, scope: Scope): void {
  const d = decide(actor, permission, scope);
  if (d === 'allow') return;
  if (d === 'unauthenticated') throw createError('AUTH_REQUIRED', 'authentication required', 401);
  if (d === 'foreign') throw createError('TENANT_NOT_FOUND', 'tenant not found', 404, { crossTenant: true });
  throw createError('ACCESS_DENIED', `missing permission ${permission}`, 403);
}

/** Throws ACCESS_PURPOSE_DENIED unless the actor may read personal data in `scope` for `purpose`. */
export function assertPurpose(actor: Actor, purpose: string, scope: Scope): void {
  if (!purposesOf(actor, scope).has(purpose)) throw createError('ACCESS_PURPOSE_DENIED', `no grant to read personal data for ${purpose}`, 403);
}
