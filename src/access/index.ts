export { decide, assertAllowed, assertPurpose, purposesOf, type Decision, type Scope } from './access.js';
export { createGuard, type Guard } from './guard.js';
export {
  PERMISSIONS,
  PLATFORM_PERMISSIONS,
  TENANT_PERMISSIONS,
  PURPOSES,
  BUILTIN_ROLES,
  PLATFORM_ROLES,
  TENANT_ROLES,
  isPermission,
  isPurpose,
  isTenantPermission,
  type Permission,
  type Purpose,
  type RoleDefinition,
} from './permissions.js';
export {
  activeGrants,
  createAccessRequestService,
  grantOf,
  type AccessRequest,
  type AccessRequestService,
  type NewAccessRequest,
} from './requests.js';
export { registerAccessRequestRoutes, MAX_GRANT_MINUTES } from './routes.js';
export { renderPermissionsDoc, type RouteDeclaration } from './docs.js';
