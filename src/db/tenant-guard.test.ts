import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { scopeTenant } from './tenant-scope.js';
import { sqliteAdapter } from './dialects/sqlite.js';
import { TenantGuardPlugin } from './tenant-guard.js';
import { TENANT_TABLES } from './tenant-tables.js';
import type { Database } from './types.js';

function db() {
  const raw = new BetterSqlite3(':memory:');
  raw.exec(`create table integrations (tenant_id text, id text, name text, primary key (tenant_id, id));
            create table tenants (id text primary key, slug text, name text, state text);`);
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }), plugins: [new TenantGuardPlugin(TENANT_TABLES)] });
}

const T = '01890a5d-ac96-774b-bcce-b302099a8057';

describe('tenant guard plugin', () => {
  it('refuses reads, updates, deletes and inserts on a tenant table without the tenant condition', async () => {
    const k = db();
    await expect(k.selectFrom('integrations').selectAll().execute()).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
    await expect(k.selectFrom('integrations').selectAll().where('id', '=', 'x').execute()).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
    await expect(k.updateTable('integrations').set({ name: 'x' }).execute()).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
    await expect(k.deleteFrom('integrations').where('id', '=', 'x').execute()).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
    await expect(k.insertInto('integrations').values({ id: 'x', name: 'n' } as never).execute()).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
  });

  it('is not fooled by an OR that weakens the tenant condition', async () => {
    const k = db();
    await expect(
      k.selectFrom('integrations').selectAll().where((eb) => eb.or([eb('tenant_id', '=', T), eb('id', '!=', '')])).execute(),
    ).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
  });

  it('checks tenant tables inside sub-queries', async () => {
    const k = db();
    // Kysely runs plugins on a sub-query while building the outer query, so this may throw before execute().
    await expect(
      (async () => k.selectFrom('tenants').selectAll().where('id', 'in', k.selectFrom('integrations').select('tenant_id')).execute())(),
    ).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
  });

  it('finds an unscoped tenant-table sub-query wherever it sits: selection, join, ON, WHERE, ORDER BY, CTE, UPDATE SET, INSERT … SELECT', async () => {
    const k = db();
    // Built without plugins, so only the walk of the outer query can see them (a sub-query built on `k` is checked on its own).
    const bare = k.withoutPlugins();
    const sub = () => bare.selectFrom('integrations').select('name').limit(1);
    const attempts: Array<() => Promise<unknown>> = [
      () => k.selectFrom('tenants').select((_eb) => ['id', sub().as('n')]).execute(),
      () => k.selectFrom('tenants').innerJoin(sub().select('tenant_id').as('i'), 'i.tenant_id', 'tenants.id').selectAll().execute(),
      () => k.selectFrom('tenants').innerJoin('tenants as t2', (j) => j.onRef('t2.id', '=', 'tenants.id').on((eb) => eb.exists(sub()))).selectAll().execute(),
      () => k.selectFrom('tenants').selectAll().where((eb) => eb.and([eb('id', '=', T), eb.exists(sub())])).execute(),
      () => k.selectFrom('tenants').selectAll().where('name', '=', sub()).execute(),
      () => k.selectFrom('tenants').selectAll().orderBy(sub()).execute(),
      () => k.with('x', () => sub()).selectFrom('x').selectAll().execute(),
      () => k.updateTable('tenants').set({ name: sub() }).where('id', '=', T).execute(),
      () => k.insertInto('tenants').columns(['id', 'slug', 'name', 'state']).expression(bare.selectFrom('integrations').select(['id', 'name as slug', 'name', 'kind as state'])).execute(),
    ];
    for (const [i, attempt] of attempts.entries()) {
      await expect((async () => attempt())(), `attempt ${i}`).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
    }
  });

  it('lets every query built by the tenant scope through, and platform tables are untouched', async () => {
    const k = db();
    const s = await scopeTenant(sqliteAdapter, k, T);
    await s.insertInto('integrations', { id: 'a', name: 'n' } as never).execute();
    expect(await s.selectFrom('integrations').selectAll().execute()).toHaveLength(1);
    await s.updateTable('integrations').set({ name: 'm' }).where('id', '=', 'a').execute();
    await s.deleteFrom('integrations').where('id', '=', 'a').execute();
    await k.selectFrom('tenants').selectAll().execute();
  });
});
