/**
 * The permission catalogue (`resource:action`) and the built-in roles.
 * A role grants permissions and, separately, the purposes for which its
 * holders may read personal data (need to know, M66).
 */
export const PERMISSIONS = [
  'tenants:create',
  'tenants:read',
  'tenants:update',
  'integrations:read',
  'integrations:write',
  'integrations:use',
  'audit:read',
  'keys:read',
  'keys:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export interface RoleDefinition {
  realm: 'platform' | 'tenant';
  permissions: readonly Permission[];
  purposes: readonly string[];
}

export const BUILTIN_ROLES: Record<string, RoleDefinition> = {
  platform_admin: { realm: 'platform', permissions: PERMISSIONS, purposes: [] },
  security_analyst: { realm: 'platform', permissions: ['tenants:read', 'audit:read', 'keys:read'], purposes: ['security'] },
  auditor: { realm: 'platform', permissions: ['tenants:read', 'audit:read', 'keys:read'], purposes: [] },
  facilities_manager: { realm: 'platform', permissions: [], purposes: [] },
  support: { realm: 'platform', permissions: ['tenants:read'], purposes: [] },
};

/** Permissions an API key may hold: only tenant-scoped ones. */
export const TENANT_PERMISSIONS: readonly Permission[] = ['integrations:read', 'integrations:write', 'integrations:use'];
