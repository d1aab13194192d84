import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scopeTenant } from '../src/db/index.js';
import { DIALECTS, testApp, uniqueSlug, type TestApp } from './helpers/app.js';

async function twoTenantsWithRows(t: TestApp) {
  const a = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('a'), name: 'A' } })).json().id as string;
  const b = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('b'), name: 'B' } })).json().id as string;
  const now = new Date().toISOString();
  for (const [tenant, id] of [
    [a, '01890a5d-ac96-774b-bcce-b302099a0001'],
    [b, '01890a5d-ac96-774b-bcce-b302099a0002'],
  ] as const) {
    await t.custos.db.write(async (tx) => {
      const s = await scopeTenant(t.custos.db.adapter, tx, tenant);
      await s
        .insertInto('integrations', {
          id,
          kind: 'webhook',
          name: 'w',
          provider: 'p',
          secret: Buffer.from([1]),
          fingerprint: 'f',
          scopes: '',
          expires_at: null,
          subject_key_id: null,
          created_at: now,
          updated_at: now,
          last_used_at: null,
        })
        .execute();
    });
  }
  return { a, b };
}

describe.each(DIALECTS)('tenant scope on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('a scoped read sees only its own tenant rows', async () => {
    const { a, b } = await twoTenantsWithRows(t);
    for (const tenant of [a, b]) {
      const rows = await t.custos.db.read(async (tx) => (await scopeTenant(t.custos.db.adapter, tx, tenant)).selectFrom('integrations').selectAll().execute());
      expect(rows.map((r) => r.tenant_id)).toEqual([tenant]);
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('row-level security on postgres', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp('postgres');
  });
  afterEach(async () => {
    await t.close();
  });

  it("Custos's own connection is not a superuser, owner or BYPASSRLS role", async () => {
    const row = await t.custos.db.read(async (tx) =>
      (
        await sql<{ who: string; rolsuper: boolean; rolbypassrls: boolean; owner: string }>`
          select current_user as who, r.rolsuper, r.rolbypassrls,
                 (select tableowner from pg_tables where tablename = 'integrations') as owner
          from pg_roles r where r.rolname = current_user`.execute(tx)
      ).rows[0],
    );
    expect(row).toMatchObject({ who: 'custos_app', rolsuper: false, rolbypassrls: false });
    expect(row?.owner).not.toBe('custos_app');
    const rls = await t.custos.db.read(async (tx) =>
      (await sql<{ relrowsecurity: boolean; relforcerowsecurity: boolean }>`select relrowsecurity, relforcerowsecurity from pg_class where relname = 'integrations'`.execute(tx)).rows[0],
    );
    expect(rls).toEqual({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it('a query on a tenant table with no tenant set returns zero rows', async () => {
    await twoTenantsWithRows(t);
    const n = await t.custos.db.read(async (tx) => (await sql<{ n: number }>`select count(*)::int as n from integrations`.execute(tx)).rows[0]?.n);
    expect(n).toBe(0);
  });

  it('with tenant A set, raw SQL sees only A and cannot write B', async () => {
    const { a, b } = await twoTenantsWithRows(t);
    const seen = await t.custos.db.read(async (tx) => {
      await t.custos.db.adapter.setTenant(tx, a);
      return (await sql<{ tenant_id: string }>`select tenant_id from integrations`.execute(tx)).rows.map((r) => r.tenant_id);
    });
    expect(seen).toEqual([a]);
    await expect(
      t.custos.db.write(async (tx) => {
        await t.custos.db.adapter.setTenant(tx, a);
        await sql`insert into integrations (tenant_id, id, kind, name, provider, secret, fingerprint, scopes, created_at, updated_at)
                  values (${b}, '01890a5d-ac96-774b-bcce-b302099a0009', 'webhook', 'x', 'p', '\\x01', 'f', '', now(), now())`.execute(tx);
      }),
    ).rejects.toThrow(/row-level security/);
  });

  it('the tenant setting does not outlive its transaction on a pooled connection', async () => {
    const { a } = await twoTenantsWithRows(t);
    await t.custos.db.read(async (tx) => t.custos.db.adapter.setTenant(tx, a));
    const values = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.custos.db.read(async (tx) => (await sql<{ v: string | null }>`select current_setting('custos.tenant_id', true) as v`.execute(tx)).rows[0]?.v),
      ),
    );
    for (const v of values) expect(v ?? '').toBe('');
  });
});
