import type { Actor } from '../shared/context.js';
import { createError } from '../shared/errors.js';
import { BUILTIN_ROLES, type Permission } from './permissions.js';

export interface Scope {
  /** The tenant the operation touches; absent for platform-wide operations. */
  tenantId?: string | undefined;
}

/** allow; deny (403); or `foreign`: the actor belongs to another tenant, answered as 404 (no existence leak). */
export type Decision = 'allow' | 'deny' | 'unauthenticated' | 'foreign';

function platformPermissions(roles: readonly string[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) for (const p of BUILTIN_ROLES[r]?.permissions ?? []) out.add(p);
  return out;
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
      return platformPermissions(actor.platformRoles).has(permission) ? 'allow' : 'deny';
    case 'api_key':
      if (!scope.tenantId || scope.tenantId !== actor.tenantId) return scope.tenantId ? 'foreign' : 'deny';
      return actor.permissions.includes(permission) ? 'allow' : 'deny';
  }
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
