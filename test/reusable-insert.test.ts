import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, reusableInsert, type Db, type TouchedTable } from '../src/db/index.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';

const insertKey = reusableInsert('idempotency_keys', ['principal', 'idem_key', 'method', 'route', 'request_hash', 'status_code', 'response', 'created_at', 'expires_at']);
const key = (i: number) => ({
  principal: 'p',
  idem_key: `k-${i}`,
  method: 'POST',
  route: '/r',
  request_hash: `h${i}`,
  status_code: 201,
  response: i % 2 ? '{}' : `{"i":${i}}`,
  created_at: '2030-01-01T00:00:00.000Z',
  expires_at: '2030-01-02T00:00:00.000Z',
});

describe.each(DIALECTS)('reusableInsert (%s)', (dialect) => {
  let env: TestEnv;
  let db: Db;
  afterEach(async () => {
    await db?.close();
    await env?.cleanup();
  });

  it('stores every row exactly as given when its compiled text is reused, and reports the table to onWrite', async () => {
    env = await testEnv(dialect);
    db = openDatabase({ dataDir: env.dataDir, databaseUrl: env.config.databaseUrl, appRole: env.config.database.appRole, poolSize: 2, groupCommitMax: 64 });
    await db.migrate();
    const heard: TouchedTable[] = [];
    db.onWrite((t) => heard.push(...t));
    await Promise.all(Array.from({ length: 30 }, (_, i) => db.write((tx) => insertKey(tx, key(i)))));
    const rows = await db.read((tx) => tx.selectFrom('idempotency_keys').selectAll().orderBy('request_hash').execute());
    expect(rows.length).toBe(30);
    for (const r of rows) expect(r).toEqual(key(Number(r.idem_key.slice(2))));
    expect(heard.filter((t) => t.table === 'idempotency_keys').length).toBe(30);
  });

  it('refuses a row with a column outside its list instead of dropping it; the tenant guard sees the first statement', async () => {
    env = await testEnv(dialect);
    db = openDatabase({ dataDir: env.dataDir, databaseUrl: env.config.databaseUrl, appRole: env.config.database.appRole, poolSize: 2, groupCommitMax: 64 });
    await db.migrate();
    await expect(db.write((tx) => insertKey(tx, { ...key(1), extra: 'x' } as never))).rejects.toThrow(/column extra is not in its list/);
    const noTenant = reusableInsert('tenant_roles', ['name', 'permissions', 'purposes'] as never);
    await expect(db.write((tx) => noTenant(tx, { name: 'r', permissions: '[]', purposes: '[]' } as never))).rejects.toMatchObject({ code: 'DB_TENANT_SCOPE_MISSING' });
  });
});
