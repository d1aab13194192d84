import { describe, expect, it } from 'vitest';
import { reusableQuery, scopeTenant, type Db, type TouchedTable, type Tx } from '../src/db/index.js';
import { DIALECTS } from './helpers/app.js';
import { dbPerTest } from './helpers/db.js';

const T1 = '01890a5d-ac96-774b-bcce-b302099a8057';
const NOW = '2030-01-01T00:00:00.000Z';
const id = (i: number) => `01890a5d-ac96-774b-bcce-${String(i).padStart(12, '0')}`;

const setName = reusableQuery((tx, p: { id: string; name: string }) => tx.updateTable('tenants').set({ name: p.name }).where('id', '=', p.id));

describe.each(DIALECTS)('db units (%s)', (dialect) => {
  let db: Db;
  const fresh = dbPerTest(dialect, { poolSize: 4, groupCommitMax: 64 });
  const open = async (): Promise<Db> => (db = await fresh());

  const addTenant = (tx: Tx, tenantId: string, slug: string) =>
    tx.insertInto('tenants').values({ id: tenantId, slug, name: slug, state: 'active', created_at: NOW, updated_at: NOW, state_changed_at: NOW }).execute();

  it('refuses a nested db.write however the unit reaches it (awaits, returned promises, .then, timers), and the outer unit fails instead of hanging', async () => {
    await open();
    const helper = async () => {
      await Promise.resolve();
      return db.write(async () => 1);
    };
    const deeper = async () => helper();
    const cases: Array<(tx: Tx) => Promise<unknown>> = [
      async () => db.write(async () => 1),
      async (tx) => {
        await tx.selectFrom('tenants').select('id').execute();
        return db.write(async () => 1);
      },
      async () => deeper(),
      async () => Promise.all([Promise.resolve(1), helper()]),
      async (tx) => {
        await new Promise((r) => setTimeout(r, 1));
        await tx.selectFrom('tenants').select('id').execute();
        return helper();
      },
      async () => Promise.resolve().then(() => db.write(async () => 1)),
    ];
    for (const fn of cases) await expect(db.write(fn)).rejects.toMatchObject({ code: 'DB_NESTED_WRITE' });
    // Again after idle turns of the loop between units.
    for (const fn of cases) {
      await new Promise((r) => setTimeout(r, 2));
      await expect(db.write(fn)).rejects.toMatchObject({ code: 'DB_NESTED_WRITE' });
    }
    // Nothing is stuck: the writer still takes units.
    await db.write((tx) => addTenant(tx, T1, 'after'));
    expect(await db.read((tx) => tx.selectFrom('tenants').select('slug').execute())).toEqual([{ slug: 'after' }]);
  });

  it('does not refuse writes from other requests that arrive while a unit runs', async () => {
    await open();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = db.write(async (tx) => {
      await addTenant(tx, T1, 'slow');
      await gate;
      return 'slow';
    });
    await new Promise((r) => setTimeout(r, 5));
    // Other requests call db.write now, while `slow` is running (and awaiting something outside the database).
    const others = Array.from({ length: 5 }, (_, i) => db.write((tx) => addTenant(tx, `01890a5d-ac96-774b-bcce-b302099a80${60 + i}`, `o${i}`)));
    release();
    expect(await slow).toBe('slow');
    await Promise.all(others);
    expect((await db.read((tx) => tx.selectFrom('tenants').select('id').execute())).length).toBe(6);
  });

  it('tells onWrite listeners what each unit wrote, through the Tx, a tenant scope and a reused query, only after it settled', async () => {
    await open();
    const heard: Array<readonly TouchedTable[]> = [];
    db.onWrite((t) => heard.push(t));
    await db.write(async (tx) => {
      await addTenant(tx, T1, 'one');
      const s = await scopeTenant(db.adapter, tx, T1);
      await s.insertInto('tenant_roles', { name: 'r', permissions: '[]', purposes: '[]', created_at: NOW }).execute();
      await setName.execute(tx, { id: T1, name: 'x' });
      await setName.execute(tx, { id: T1, name: 'y' });
      // Writes are delivered after the unit settles, not while it runs.
      expect(heard).toEqual([]);
    });
    expect(heard).toHaveLength(1);
    expect(heard[0]!.map((t) => t.table)).toEqual(['tenants', 'tenant_roles', 'tenants', 'tenants']);
    expect(heard[0]![2]).toEqual({ table: 'tenants', columns: ['name'] });

    // Concurrent units (one batch on SQLite) each report their own writes, and a failed unit reports what it tried.
    heard.length = 0;
    await Promise.allSettled([
      db.write((tx) => setName.execute(tx, { id: T1, name: 'a' })),
      db.write(async (tx) => {
        await tx.updateTable('tenants').set({ slug: 'b' }).where('id', '=', T1).execute();
        throw new Error('rolled back');
      }),
      db.read((tx) => tx.selectFrom('tenants').selectAll().execute()),
    ]);
    expect(heard.map((h) => h.map((t) => `${t.table}:${t.columns?.join(',')}`)).sort()).toEqual([['tenants:name'], ['tenants:slug']]);
    expect((await db.read((tx) => tx.selectFrom('tenants').select(['name', 'slug']).execute()))[0]).toEqual({ name: 'a', slug: 'one' });
  });

  const addNumbered = (tx: Tx, i: number) => addTenant(tx, id(i), `t${i}`);
  const count = async (tx: Tx) => (await tx.selectFrom('tenants').select('id').execute()).length;

  it('runs many concurrent read units while writes commit around them, each a snapshot on SQLite', async () => {
    await open();
    let next = 0;
    const writes = Array.from({ length: 40 }, () => db.write((tx) => addNumbered(tx, next++)));
    const reads = Array.from({ length: 40 }, () =>
      db.read(async (tx) => {
        const first = await count(tx);
        await new Promise((r) => setImmediate(r));
        return [first, await count(tx)];
      }),
    );
    await Promise.all(writes);
    const seen = await Promise.all(reads);
    // A snapshot per unit is SQLite's (BEGIN … COMMIT on the reader); PostgreSQL's read units are READ COMMITTED.
    if (dialect === 'sqlite') for (const [first, second] of seen) expect(second).toBe(first);
    expect(await db.read(count)).toBe(40);
  });

  it('sees every write that committed before it started, and a failing read unit leaves the reader usable', async () => {
    await open();
    for (let i = 0; i < 5; i++) {
      await db.write((tx) => addNumbered(tx, i));
      expect(await db.read(count)).toBe(i + 1);
      await expect(
        db.read(async (tx) => {
          await count(tx);
          throw new Error('read failed');
        }),
      ).rejects.toThrow('read failed');
      await expect(db.read(async (tx) => tx.selectFrom('no_such_table' as never).selectAll().execute())).rejects.toThrow();
    }
    await Promise.all([db.ping(), db.migrationStatus(), db.read(count), db.ping()]);
    expect(await db.read(count)).toBe(5);
  });

  it('answers read units in the order they were asked for', async () => {
    await open();
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.read(async (tx) => {
          await count(tx);
          order.push(i);
        }),
      ),
    );
    if (dialect === 'sqlite') expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    else expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
