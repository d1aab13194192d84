export { openDatabase, type Db, type DatabaseOptions } from './database.js';
export type { Database, Tx } from './types.js';
export type { DialectAdapter } from './dialects/adapter.js';
export { scopeTenant, type TenantScope, type TenantTable } from './tenant-scope.js';
export { TENANT_TABLES } from './tenant-tables.js';
export type { TouchedTable } from './write-tracker.js';
export type { MigrationStatus } from './migrations/index.js';
export { reusableInsert } from './reusable-insert.js';
export { reusableQuery, type ReusableQuery, type ReusableBuilder } from './reusable-query.js';
