export { decide, assertAllowed, type Decision, type Scope } from './access.js';
export { createGuard, type Guard } from './guard.js';
export { PERMISSIONS, BUILTIN_ROLES, TENANT_PERMISSIONS, type Permission, type RoleDefinition } from './permissions.js';
