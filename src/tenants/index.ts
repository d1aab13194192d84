export { createTenantService, toTenant, type TenantService } from './service.js';
export { registerTenantRoutes } from './routes.js';
export type { Tenant, TenantState } from './types.js';
