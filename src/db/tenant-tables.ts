/**
 * Tables owned by a tenant. Each carries `tenant_id` first in its primary key,
 * is reached only through a tenant scope (db/tenant-scope.ts), is guarded by
 * the tenant-guard plugin and, on PostgreSQL, by FORCEd row-level security.
 * A migration that creates a tenant table adds its name here.
 */
export const TENANT_TABLES: ReadonlySet<string> = new Set([
  'integrations',
  'tenant_roles',
  // src/vault (0009-vault)
  'vault_collections',
  'vault_collection_versions',
  'vault_subjects',
  'vault_records',
  'vault_index',
  'vault_files',
]);
