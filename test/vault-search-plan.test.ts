// SQLite only (query plans are the SQLite planner's): the vault's blind-index
// lookups must be primary-key ranges, never a walk over every index row of a
// tenant. ORDER BY record_id once made the planner pick the (tenant_id,
// record_id) index for equality search, and search latency grew with the
// tenant's record count (4 ms at 2k records, 42 ms at 100k).
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scopeTenant, type Db, type TenantScope } from '../src/db/index.js';
import * as store from '../src/vault/store.js';
import { testDb } from './helpers/db.js';

type Compiled = { sql: string; parameters: readonly unknown[] };

/** A scope whose queries are compiled and kept (then run as usual). */
function capturing(s: TenantScope, out: Compiled[]): TenantScope {
  const wrap = (builder: object): object =>
    new Proxy(builder, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (prop === 'execute' || prop === 'executeTakeFirst') out.push((target as { compile(): Compiled }).compile());
          const r = (v as (...a: unknown[]) => unknown).apply(target, args);
          return r !== null && typeof r === 'object' && 'compile' in r ? wrap(r) : r;
        };
      },
    });
  return { ...s, selectFrom: ((table: never) => wrap(s.selectFrom(table) as object)) as TenantScope['selectFrom'] };
}

describe('vault index lookups on SQLite use the primary key', () => {
  let db: Db;
  let cleanup: () => Promise<void>;
  const tenantId = '01900000-0000-7000-8000-0000000000aa';

  beforeAll(async () => {
    ({ db, cleanup } = await testDb('sqlite'));
  });
  afterAll(async () => cleanup());

  const plans = (queries: Compiled[]) => {
    const raw = new BetterSqlite3(db.location, { readonly: true });
    try {
      return queries.map((q) =>
        (raw.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.parameters as unknown[])) as Array<{ detail: string }>).map((r) => r.detail).join(' | '),
      );
    } finally {
      raw.close();
    }
  };

  it('equality search and the unique check search the primary key on (tenant, collection, field, hmac)', async () => {
    const queries: Compiled[] = [];
    await db.read(async (tx) => {
      const s = capturing(await scopeTenant(db.adapter, tx, tenantId), queries);
      expect(await store.indexLookup(s, 'c1', 'email', 'h1', 10_000)).toEqual([]);
      expect(await store.uniqueHolders(s, 'c1', [{ field: 'email', hmac: 'h1' }])).toEqual([]);
    });
    expect(queries).toHaveLength(2);
    for (const plan of plans(queries)) {
      expect(plan).toMatch(/USING (INDEX sqlite_autoindex_vault_index_1|PRIMARY KEY) \(tenant_id=\? AND collection_id=\? AND field=\? AND hmac=\?/);
      expect(plan).not.toMatch(/vault_index_record|SCAN/);
    }
  });
});
