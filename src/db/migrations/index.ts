import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { createError } from '../../shared/errors.js';
import type { DialectAdapter } from '../dialects/adapter.js';
import { m0001Foundation } from './0001-foundation.js';
import { m0002Integrations } from './0002-integrations.js';
import { m0004AuditLog } from './0004-audit-log.js';
import { m0005AuditForwarders } from './0005-audit-forwarders.js';
import { m0006Identity } from './0006-identity.js';
import { m0008KeyStore } from './0008-key-store.js';
import { m0009Vault } from './0009-vault.js';
import { m0010Siem } from './0010-siem.js';

export interface MigrationContext {
  adapter: DialectAdapter;
  appRole: string;
}

/** A migration written once for both dialects; dialect differences come from ctx.adapter. */
export interface CustosMigration {
  name: string;
  up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
}

/** The one migration set, in order. Append only; never edit a released migration. */
export const MIGRATIONS: readonly CustosMigration[] = [m0001Foundation, m0002Integrations, m0004AuditLog, m0005AuditForwarders, m0006Identity, m0008KeyStore, m0009Vault, m0010Siem];

function provider(ctx: MigrationContext): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of MIGRATIONS) out[m.name] = { up: (db) => m.up(db, ctx) };
      return out;
    },
  };
}

function migrator(db: Kysely<unknown>, ctx: MigrationContext): Migrator {
  return new Migrator({
    db,
    provider: provider(ctx),
    migrationTableName: 'custos_migration',
    migrationLockTableName: 'custos_migration_lock',
  });
}

/**
 * Applies pending migrations under the migrator's lock (a PostgreSQL advisory
 * lock; SQLite's single writer), so two processes cannot race. Returns the
 * names applied.
 */
export async function migrateToLatest(db: Kysely<unknown>, ctx: MigrationContext): Promise<string[]> {
  const { error, results } = await migrator(db, ctx).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw createError('DB_MIGRATION_FAILED', `migration ${failed} failed: ${(error as Error).message}`, 500);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export interface MigrationStatus {
  current: boolean;
  applied: string[];
  pending: string[];
}

export async function migrationStatus(db: Kysely<unknown>, ctx: MigrationContext): Promise<MigrationStatus> {
  const all = await migrator(db, ctx).getMigrations();
  const applied = all.filter((m) => m.executedAt).map((m) => m.name);
  const pending = all.filter((m) => !m.executedAt).map((m) => m.name);
  return { current: pending.length === 0, applied, pending };
}
