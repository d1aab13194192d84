/**
 * The permission catalogue (`resource:action`) and the built-in roles.
 * A role grants permissions and, separately, the purposes for which its
 * holders may read personal data (need to know, M66).
 */
export const PLATFORM_PERMISSIONS = [
  'tenants:create',
  'tenants:read',
  'tenants:update',
  'audit:read',
  'keys:read',
  'keys:manage',
  'accounts:read',
  'accounts:manage',
  'sessions:manage',
  'access_requests:approve',
  'facilities:read',
  'facilities:manage',
  'alerts:read',
  'alerts:manage',
  'siem:manage',
] as const;

/** Permissions that act inside one tenant (tenant roles, API keys, just-in-time grants). */
export const TENANT_PERMISSIONS = [
  'integrations:read',
  'integrations:write',
  'integrations:use',
  'members:read',
  'members:manage',
  'roles:manage',
  'api_keys:read',
  'api_keys:manage',
  'records:read',
  'records:write',
  'collections:read',
  'collections:manage',
  /** Send external security events (firewall, VPN, cloud) into the audit log: POST /api/v1/events. */
  'events:ingest',
] as const;

export const PERMISSIONS = [...PLATFORM_PERMISSIONS, ...TENANT_PERMISSIONS] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Purposes for which personal data may be read (DESIGN.md "Personal data access"). */
export const PURPOSES = ['app_functionality', 'support', 'security', 'data_subject_request'] as const;
export type Purpose = (typeof PURPOSES)[number];

export interface RoleDefinition {
  realm: 'platform' | 'tenant';
  permissions: readonly Permission[];
  purposes: readonly Purpose[];
}

/** A tenant administrator holds every tenant permission. */
const TENANT_ADMIN: readonly Permission[] = TENANT_PERMISSIONS;

/**
 * Platform administrators administer tenants (not their personal data: no
 * purposes). Support staff reach a tenant only through an approved
 * just-in-time grant. A new tenant member sees no personal data until a
 * role with a purpose is granted.
 */
export const BUILTIN_ROLES: Record<string, RoleDefinition> = {
  platform_admin: { realm: 'platform', permissions: [...PLATFORM_PERMISSIONS, ...TENANT_ADMIN.filter((p) => !p.startsWith('records:'))], purposes: [] },
  // The SOC runs the SIEM: reads and works alerts and tunes rules (siem:manage; turning on a response also needs step-up MFA).
  security_analyst: {
    realm: 'platform',
    permissions: ['tenants:read', 'audit:read', 'keys:read', 'accounts:read', 'alerts:read', 'alerts:manage', 'siem:manage'],
    purposes: ['security'],
  },
  auditor: { realm: 'platform', permissions: ['tenants:read', 'audit:read', 'keys:read', 'accounts:read', 'alerts:read'], purposes: [] },
  facilities_manager: { realm: 'platform', permissions: ['facilities:read', 'facilities:manage'], purposes: [] },
  support: { realm: 'platform', permissions: ['tenants:read'], purposes: [] },
  owner: { realm: 'tenant', permissions: TENANT_ADMIN, purposes: ['app_functionality', 'data_subject_request'] },
  admin: { realm: 'tenant', permissions: TENANT_ADMIN.filter((p) => p !== 'roles:manage'), purposes: ['app_functionality'] },
  member: { realm: 'tenant', permissions: ['integrations:read', 'integrations:use', 'members:read', 'records:read', 'records:write', 'collections:read'], purposes: [] },
  viewer: { realm: 'tenant', permissions: ['integrations:read', 'members:read'], purposes: [] },
};

export const PLATFORM_ROLES = Object.keys(BUILTIN_ROLES).filter((r) => BUILTIN_ROLES[r]?.realm === 'platform');
export const TENANT_ROLES = Object.keys(BUILTIN_ROLES).filter((r) => BUILTIN_ROLES[r]?.realm === 'tenant');

export function isTenantPermission(p: string): boolean {
  return (TENANT_PERMISSIONS as readonly string[]).includes(p);
}
export function isPermission(p: string): p is Permission {
  return (PERMISSIONS as readonly string[]).includes(p);
}
export function isPurpose(p: string): p is Purpose {
  return (PURPOSES as readonly string[]).includes(p);
}
