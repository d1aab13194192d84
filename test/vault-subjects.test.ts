import { afterEach, describe, expect, it, vi } from 'vitest';
import { scopeTenant, type Db, type Tx } from '../src/db/index.js';
import { DIALECTS, testApp, type TestApp } from './helpers/app.js';
import { ALL_PURPOSES, apiKey, createCollection, newTenant, ORDERS, recordsApi } from './helpers/vault.js';

// Subject field apart from the unique one: a new subject can collide on another field.
const MEMBERS = {
  name: 'members',
  subjectField: 'member',
  retentionDays: 365,
  fields: {
    member: { type: 'string', personal: true, category: 'user.unique_id', required: true, purposes: ['app_functionality'] },
    email: { type: 'email', personal: true, category: 'user.contact.email', required: true, unique: true, purposes: ['app_functionality'] },
  },
};

/** A clock that stands still until the test moves it: the vault's caches hold until then, and expire (subjects: 60 s) as if another process had written. */
function movableClock() {
  let at = Date.now();
  return { now: () => new Date(at), advance: (ms: number) => (at += ms) };
}

async function subjectRows(t: TestApp, tenantId: string): Promise<Array<{ lookup: string; subject_id: string }>> {
  return t.custos.db.read(async (tx) => (await scopeTenant(t.custos.db.adapter, tx, tenantId)).selectFrom('vault_subjects').select(['lookup', 'subject_id']).execute());
}

/** A tenant with the orders collection, and its records API as a key holding every purpose. */
async function ordersTenant(t: TestApp) {
  const tid = await newTenant(t);
  await createCollection(t, tid, ORDERS);
  return { tid, orders: recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES), 'orders') };
}

/** Records the ids the keyring hands out and takes back. */
function watchAllocations(t: TestApp) {
  const keys = t.custos.keys;
  const allocated: string[] = [];
  const released: string[] = [];
  const allocate = keys.allocateSubject.bind(keys);
  vi.spyOn(keys, 'allocateSubject').mockImplementation(async (tenantId, actx) => {
    const id = await allocate(tenantId, actx);
    allocated.push(id);
    return id;
  });
  const release = keys.releaseSubject.bind(keys);
  vi.spyOn(keys, 'releaseSubject').mockImplementation((tenantId, id) => {
    released.push(id);
    release(tenantId, id);
  });
  return { allocated, released };
}

describe.each(DIALECTS)('vault subjects of new records on %s', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  it('concurrent creates for one new subject value make one subject; every id that lost the race is given back to the keyring', async () => {
    t = await testApp(dialect);
    const { tid, orders } = await ordersTenant(t);
    const { allocated, released } = watchAllocations(t);
    const spellings = ['Ada@Example.org', 'ada@example.org', ' ADA@EXAMPLE.ORG ', 'ada@EXAMPLE.org', 'Ada@example.ORG', 'aDa@example.org', 'ada@Example.Org', 'ADA@example.org'];
    const created = await Promise.all(spellings.map((customerEmail, i) => orders.create({ customerEmail, total: i })));
    for (const r of created) expect(r.statusCode, r.body).toBe(201);
    const subjects = new Set(created.map((r) => r.json().subjectId as string));
    expect(subjects.size, 'one subject').toBe(1);
    const [subject] = [...subjects];
    expect(await subjectRows(t, tid)).toEqual([{ lookup: expect.any(String), subject_id: subject }]);
    expect(allocated).toContain(subject);
    expect(released.sort(), 'each allocated id but the winner goes back, once').toEqual(allocated.filter((id) => id !== subject).sort());
    const view = await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/subjects/${subject}?reason=data_subject_request`, token: await apiKey(t, tid, ALL_PURPOSES) });
    expect(view.json().records.map((r: { fields: { customerEmail: string } }) => r.fields.customerEmail)).toEqual(Array(spellings.length).fill('ada@example.org'));
  });

  it('a subject value known to the table but not to this process resolves to its subject inside the write; the guessed id is given back', async () => {
    const clock = movableClock();
    t = await testApp(dialect, { clock });
    const { tid, orders } = await ordersTenant(t);
    const first = (await orders.create({ customerEmail: 'grace@example.org', total: 1 })).json();
    clock.advance(61_000);
    const { allocated, released } = watchAllocations(t);
    const second = await orders.create({ customerEmail: 'Grace@Example.org', total: 2 });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json().subjectId).toBe(first.subjectId);
    expect(allocated).toHaveLength(1);
    expect(released).toEqual(allocated);
    // Now in memory again: no guess, nothing allocated.
    expect((await orders.create({ customerEmail: 'grace@example.org', total: 3 })).json().subjectId).toBe(first.subjectId);
    expect(allocated).toHaveLength(1);
    expect(await subjectRows(t, tid)).toHaveLength(1);
  });

  it('a crypto-shredded subject this process does not remember: the returning person still becomes a new subject, and the lookup names it', async () => {
    const clock = movableClock();
    t = await testApp(dialect, { clock });
    const { tid, orders } = await ordersTenant(t);
    const old = (await orders.create({ customerEmail: 'ada@example.org', total: 1 })).json();
    const destroyed = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/keys/destroy`, body: { scope: 'subject', subjectId: old.subjectId, reason: 'DSR-2: erasure' } });
    expect(destroyed.statusCode, destroyed.body).toBe(201);
    clock.advance(61_000);
    const { allocated, released } = watchAllocations(t);
    const again = await orders.create({ customerEmail: 'ada@example.org', total: 2 });
    expect(again.statusCode, again.body).toBe(201);
    const fresh = again.json().subjectId as string;
    expect(fresh).not.toBe(old.subjectId);
    // One guess lost to the erased subject's lookup row (given back), one replaced it.
    expect(allocated).toHaveLength(2);
    expect(released).toEqual([allocated[0]]);
    expect(allocated[1]).toBe(fresh);
    expect(await subjectRows(t, tid)).toEqual([{ lookup: expect.any(String), subject_id: fresh }]);
    expect((await orders.get(again.json().id, '?reason=app_functionality')).json().fields.customerEmail).toBe('ada@example.org');
    expect((await orders.get(old.id, '?reason=app_functionality')).statusCode).toBe(410);
  });

  it('a create refused for a duplicate unique value gives its allocated id back and leaves no subject behind', async () => {
    t = await testApp(dialect);
    const tid = await newTenant(t);
    await createCollection(t, tid, MEMBERS);
    const members = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES), 'members');
    expect((await members.create({ member: 'm-1', email: 'lin@example.org' })).statusCode).toBe(201);
    const { allocated, released } = watchAllocations(t);
    // A new person (new subject) with an email another member holds: refused in the unit, after its subject was planned.
    const dup = await members.create({ member: 'm-2', email: 'LIN@example.org' });
    expect(dup.statusCode, dup.body).toBe(409);
    expect(dup.json().code).toBe('VAULT_DUPLICATE_VALUE');
    expect(allocated).toHaveLength(1);
    expect(released).toEqual(allocated);
    expect(await subjectRows(t, tid)).toHaveLength(1);
  });

  it('a create whose unit finished but whose write then failed keeps its allocated id out of the pool (it may be committed), never hands it out again', async () => {
    let failAfterCreate = false;
    // Stands for a failure after the unit ran (a COMMIT or an onWrite listener failing): the record may be there.
    const wrapDb = (db: Db): Db =>
      Object.assign(Object.create(db) as Db, {
        async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
          const out = await db.write(fn);
          if (failAfterCreate && out && typeof out === 'object' && 'withheld' in out) throw new Error('failed after the unit');
          return out;
        },
      });
    t = await testApp(dialect, { wrapDb });
    const { tid, orders } = await ordersTenant(t);
    const { allocated, released } = watchAllocations(t);
    failAfterCreate = true;
    expect((await orders.create({ customerEmail: 'kim@example.org', total: 1 })).statusCode).toBe(500);
    failAfterCreate = false;
    expect(allocated).toHaveLength(1);
    expect(released).toEqual([]);
    const rows = await subjectRows(t, tid);
    expect(rows.map((r) => r.subject_id)).toEqual(allocated);
    // The next new person gets another id.
    const next = (await orders.create({ customerEmail: 'lee@example.org', total: 2 })).json();
    expect(next.subjectId).not.toBe(allocated[0]);
  });

  it('a suspended tenant: creates and reads by id answer the tenant state, never a record (with its collection in memory)', async () => {
    t = await testApp(dialect, { clock: movableClock() });
    const { tid, orders } = await ordersTenant(t);
    const rec = (await orders.create({ customerEmail: 'ada@example.org', total: 1 })).json();
    const suspended = await t.request({ method: 'PATCH', url: `/api/v1/tenants/${tid}`, body: { state: 'suspended' } });
    expect(suspended.statusCode, suspended.body).toBe(200);
    const read = await orders.get(rec.id, '?reason=app_functionality');
    const missing = await orders.get('0190a0a0-0000-7000-8000-000000000000', '?reason=app_functionality');
    const create = await orders.create({ customerEmail: 'bob@example.org', total: 2 });
    for (const r of [read, missing, create]) {
      expect(r.statusCode, r.body).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain('ada@example.org');
    }
    for (const r of [read, missing, create]) expect(r.json().code).toBe('TENANT_NOT_ACTIVE');
  });
});
