import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { reusableQuery, scopeTenant, type Db, type TouchedTable, type Tx } from '../src/db/index.js';
import { DIALECTS } from './helpers/app.js';
import { dbPerTest } from './helpers/db.js';

const T1 = '01890a5d-ac96-774b-bcce-b302099a8057';
const T2 = '01890a5d-ac96-774b-bcce-b302099a8058';
const NOW = '2030-01-01T00:00:00.000Z';

const key = (i: number) => ({
  principal: `p${i % 3}`,
  idem_key: `k-${i}`,
  method: 'POST',
  route: '/r',
  request_hash: `h${i}`,
  status_code: 200 + i,
  response: `{"i":${i}}`,
  created_at: NOW,
  expires_at: '2030-01-02T00:00:00.000Z',
});

let builds = 0;
const byPrincipal = reusableQuery((tx, p: { principal: string; after: number }) => {
  builds++;
  return tx.selectFrom('idempotency_keys').selectAll().where('principal', '=', p.principal).where('status_code', '>', p.after).orderBy('idem_key');
});
type Role = { tenant: string; name: string; permissions: string; created: string };
const insertRole = reusableQuery((tx, p: Role) =>
  tx.insertInto('tenant_roles').values({ tenant_id: p.tenant, name: p.name, permissions: p.permissions, purposes: p.permissions, created_at: p.created }),
);
const setPermissions = reusableQuery((tx, p: Role) =>
  tx.updateTable('tenant_roles').set({ permissions: p.permissions }).where('tenant_id', '=', p.tenant).where('name', '=', p.name),
);
const dropRole = reusableQuery((tx, p: { tenant: string; name: string }) => tx.deleteFrom('tenant_roles').where('tenant_id', '=', p.tenant).where('name', '=', p.name));
const insertKey = reusableQuery((tx, p: ReturnType<typeof key>) =>
  tx.insertInto('idempotency_keys').values({
    principal: p.principal, idem_key: p.idem_key, method: p.method, route: p.route, request_hash: p.request_hash,
    status_code: p.status_code, response: p.response, created_at: p.created_at, expires_at: p.expires_at,
  }),
);
const roleByName = reusableQuery((tx, p: { tenant: string | null; name: string }) =>
  tx.selectFrom('tenant_roles').select(['tenant_id', 'name']).where('tenant_roles.tenant_id', '=', p.tenant as string).where('name', '=', p.name),
);

async function seedTenants(db: Db): Promise<void> {
  await db.write(async (tx) => {
    for (const [id, slug] of [[T1, 'one'], [T2, 'two']] as const) {
      await tx.insertInto('tenants').values({ id, slug, name: slug, state: 'active', created_at: NOW, updated_at: NOW, state_changed_at: NOW }).execute();
      const s = await scopeTenant(db.adapter, tx, id);
      await s.insertInto('tenant_roles', { name: 'auditor', permissions: '[]', purposes: '[]', created_at: NOW }).execute();
    }
  });
}

describe.each(DIALECTS)('reusableQuery (%s)', (dialect) => {
  let db: Db;
  const fresh = dbPerTest(dialect, { poolSize: 2, groupCommitMax: 64 });
  const open = async (): Promise<Db> => (db = await fresh());

  it('answers every call exactly as the same Kysely query does, building it once per database', async () => {
    await open();
    await Promise.all(Array.from({ length: 12 }, (_, i) => db.write(async (tx) => void (await insertKey.execute(tx, key(i))))));
    const before = builds;
    for (const principal of ['p0', 'p1', 'p2', 'nobody']) {
      for (const after of [0, 205, 1000]) {
        const reused = await db.read((tx) => byPrincipal.execute(tx, { principal, after }));
        const kysely = await db.read((tx) =>
          tx.selectFrom('idempotency_keys').selectAll().where('principal', '=', principal).where('status_code', '>', after).orderBy('idem_key').execute(),
        );
        expect(reused).toEqual(kysely);
      }
    }
    expect((await db.read((tx) => byPrincipal.executeTakeFirst(tx, { principal: 'p1', after: 0 })))?.idem_key).toBe('k-1');
    expect(builds - before).toBeLessThanOrEqual(1);
  });

  it('builds once across write units too, though each unit’s Tx carries a write tracker of its own (regression: it rebuilt per unit)', async () => {
    await open();
    const before = builds;
    for (let i = 0; i < 5; i++) await db.write((tx) => byPrincipal.execute(tx, { principal: 'p0', after: i }));
    expect(builds - before).toBe(1);
  });

  it('returns the same Insert/Update/DeleteResult shapes as Kysely and reports each write to onWrite', async () => {
    await open();
    await seedTenants(db);
    const heard: TouchedTable[] = [];
    db.onWrite((t) => heard.push(...t));
    const viaKysely = await db.write(async (tx) => {
      const s = await scopeTenant(db.adapter, tx, T1);
      return {
        insert: await s.insertInto('tenant_roles', { name: 'r', permissions: '[]', purposes: '[]', created_at: NOW }).execute(),
        update: await s.updateTable('tenant_roles').set({ permissions: '["x"]' }).where('name', '=', 'r').execute(),
        miss: await s.updateTable('tenant_roles').set({ permissions: '["x"]' }).where('name', '=', 'none').execute(),
        del: await s.deleteFrom('tenant_roles').where('name', '=', 'r').execute(),
      };
    });
    heard.length = 0;
    for (let round = 0; round < 3; round++) {
      const reused = await db.write(async (tx) => {
        await scopeTenant(db.adapter, tx, T1);
        return {
          insert: await insertRole.execute(tx, { tenant: T1, name: 'r', permissions: '[]', created: NOW }),
          update: await setPermissions.execute(tx, { tenant: T1, name: 'r', permissions: '["x"]', created: NOW }),
          miss: await setPermissions.execute(tx, { tenant: T1, name: 'none', permissions: '["x"]', created: NOW }),
          del: await dropRole.execute(tx, { tenant: T1, name: 'r' }),
        };
      });
      expect(reused.update).toEqual(viaKysely.update);
      expect(reused.miss).toEqual(viaKysely.miss);
      expect(reused.del).toEqual(viaKysely.del);
      expect(reused.insert[0]!.numInsertedOrUpdatedRows).toBe(viaKysely.insert[0]!.numInsertedOrUpdatedRows);
      expect(reused.insert[0]!.constructor).toBe(viaKysely.insert[0]!.constructor);
    }
    expect(heard.length).toBe(12);
    expect(heard.every((t) => t.table === 'tenant_roles')).toBe(true);
    expect(heard.filter((t) => t.columns?.includes('permissions')).length).toBe(6);
  });

  it('the tenant guard still refuses an unscoped tenant-table query through it, and a null tenant pin at any execution', async () => {
    await open();
    await seedTenants(db);
    const unscoped = reusableQuery((tx, p: { name: string }) => tx.selectFrom('tenant_roles').selectAll().where('name', '=', p.name));
    await expect(db.read((tx) => unscoped.execute(tx, { name: 'auditor' }))).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
    await expect(db.read((tx) => unscoped.execute(tx, { name: 'auditor' }))).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
    const unscopedDelete = reusableQuery((tx, p: { name: string }) => tx.deleteFrom('tenant_roles').where('name', '=', p.name));
    await expect(db.write((tx) => unscopedDelete.execute(tx, { name: 'auditor' }))).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });

    const read = (tenant: string | null) =>
      db.read(async (tx) => {
        if (tenant) await scopeTenant(db.adapter, tx, tenant);
        return roleByName.execute(tx, { tenant, name: 'auditor' });
      });
    expect(await read(T1)).toEqual([{ tenant_id: T1, name: 'auditor' }]);
    expect(await read(T2)).toEqual([{ tenant_id: T2, name: 'auditor' }]);
    await expect(read(null)).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
  });

  it('refuses a value that is not a parameter (it would be frozen into the text), arrays and missing parameters', async () => {
    await open();
    const captured = 'p1';
    const frozen = reusableQuery((tx, p: { after: number }) => tx.selectFrom('idempotency_keys').selectAll().where('principal', '=', captured).where('status_code', '>', p.after));
    await expect(db.read((tx) => frozen.execute(tx, { after: 0 }))).rejects.toThrow(/not one of its parameters/);
    const limited = reusableQuery((tx, p: { principal: string }) => tx.selectFrom('idempotency_keys').selectAll().where('principal', '=', p.principal).limit(1));
    await expect(db.read((tx) => limited.execute(tx, { principal: 'p' }))).rejects.toThrow(/not one of its parameters/);
    const literal = reusableQuery((tx, p: { principal: string }) => tx.selectFrom('idempotency_keys').selectAll().where('principal', '=', p.principal).limit(sql.lit(1)));
    expect(await db.read((tx) => literal.execute(tx, { principal: 'p' }))).toEqual([]);
    await expect(db.read((tx) => byPrincipal.execute(tx, { principal: ['a', 'b'] as never, after: 0 }))).rejects.toThrow(/is an array/);
    await expect(db.read((tx) => byPrincipal.execute(tx, { principal: 'p0' } as never))).rejects.toThrow(/parameter after is missing/);
  });

  it('binds each call its own values when units of one batch interleave', async () => {
    await open();
    await seedTenants(db);
    const names = Array.from({ length: 30 }, (_, i) => `role-${i}`);
    const inT1 = async <R>(tx: Tx, fn: () => Promise<R>) => {
      await scopeTenant(db.adapter, tx, T1);
      return fn();
    };
    await Promise.all(names.map((name) => db.write((tx) => inT1(tx, () => insertRole.execute(tx, { tenant: T1, name, permissions: '[]', created: NOW })))));
    await Promise.all(names.map((name) => db.write((tx) => inT1(tx, () => setPermissions.execute(tx, { tenant: T1, name, permissions: `["${name}"]`, created: NOW })))));
    const rows = await db.read(async (tx) => (await scopeTenant(db.adapter, tx, T1)).selectFrom('tenant_roles').select(['name', 'permissions']).execute());
    expect(rows.length).toBe(31);
    for (const r of rows) if (r.name !== 'auditor') expect(r.permissions).toBe(`["${r.name}"]`);
  });
});
