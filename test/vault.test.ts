import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { ALL_PURPOSES, apiKey, createCollection, CUSTOMERS, newTenant, recordsApi } from './helpers/vault.js';

describe.each(DIALECTS)('vault records on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('creates, reads, lists, updates and deletes a record; personal values are normalised and never in write replies; every change audited', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const created = await api.create({ email: 'Ada.Lovelace@Bücher.Example', phone: '030 1234567', birthDate: '1815-12-10', note: 'prefers mail', plan: 'pro', seats: 3 });
    expect(created.statusCode, created.body).toBe(201);
    const rec = created.json();
    expect(rec).toMatchObject({ collection: 'customers', version: 1, erased: false, fields: { plan: 'pro', seats: 3 } });
    expect(rec.withheld.sort()).toEqual(['birthDate', 'email', 'note', 'phone']);
    expect(created.body).not.toContain('Lovelace');
    expect(created.body).not.toContain('1234567');

    const got = await api.get(rec.id, '?reason=data_subject_request');
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json().fields).toEqual({ email: 'ada.lovelace@xn--bcher-kva.example', phone: '+49301234567', birthDate: '1815-12-10', plan: 'pro', seats: 3 });
    expect(got.json().withheld).toEqual(['note']);
    expect(got.json().subjectId).toBe(rec.subjectId);

    const only = await api.get(rec.id, '?reason=support&fields=email,note');
    expect(only.json().fields).toEqual({ email: 'ada.lovelace@xn--bcher-kva.example', note: 'prefers mail' });

    const updated = await api.update(rec.id, { phone: '+44 20 7946 0958', note: null, seats: 5 });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().fields).toMatchObject({ seats: 5 });
    const after = (await api.get(rec.id, '?reason=app_functionality')).json();
    expect(after.fields).toMatchObject({ phone: '+442079460958', seats: 5, email: 'ada.lovelace@xn--bcher-kva.example' });
    expect((await api.get(rec.id, '?reason=support')).json().fields.note).toBeUndefined();

    const second = await api.create({ email: 'grace@example.org', plan: 'free' });
    expect(second.statusCode, second.body).toBe(201);
    const page1 = await api.list('?limit=1&reason=app_functionality');
    expect(page1.statusCode, page1.body).toBe(200);
    expect(page1.json().items).toHaveLength(1);
    const page2 = await api.list(`?limit=1&reason=app_functionality&cursor=${page1.json().nextCursor}`);
    expect(page2.json().items).toHaveLength(1);
    expect(page2.json().nextCursor).toBeNull();
    expect([page1.json().items[0].fields.email, page2.json().items[0].fields.email].sort()).toEqual(['ada.lovelace@xn--bcher-kva.example', 'grace@example.org']);

    expect((await api.remove(rec.id)).statusCode).toBe(204);
    expect((await api.get(rec.id, '?reason=support')).statusCode).toBe(404);

    const events = (await outboxEvents(t.custos)).filter((e) => e.tenant_uid === tid);
    const actions = events.map((e) => e.custos.action);
    for (const a of ['vault.collection.create', 'vault.record.create', 'vault.record.update', 'vault.record.read', 'vault.record.delete']) expect(actions).toContain(a);
    const text = JSON.stringify(events);
    for (const v of ['Lovelace', 'lovelace', '+49301234567', '+442079460958', '1815-12-10', 'prefers mail']) expect(text).not.toContain(v);
  });

  it('refuses unknown fields naming them, invalid values naming the field (never the value), and missing required fields', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const unknown = await api.create({ email: 'a@example.org', shoeSize: 44, favouriteColour: 'red' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('VAULT_FIELD_NOT_IN_SCHEMA');
    expect(unknown.json().detail).toContain('shoeSize');
    expect(unknown.json().detail).toContain('favouriteColour');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ email: 'not-an-email' }, 'fields.email'],
      [{ email: 'a@example.org', phone: 'tel-4711-nope' }, 'fields.phone'],
      [{ email: 'a@example.org', birthDate: '2023-02-30' }, 'fields.birthDate'],
      [{ email: 'a@example.org', seats: 'three' }, 'fields.seats'],
      [{ email: 'a@example.org', plan: 42 }, 'fields.plan'],
    ];
    for (const [fields, path] of cases) {
      const r = await api.create(fields);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().code).toBe('VAULT_VALUE_INVALID');
      expect(r.json().errors[0].path).toBe(path);
      for (const v of Object.values(fields)) if (typeof v === 'string' && v !== 'a@example.org') expect(r.body).not.toContain(v);
    }
    const missing = await api.create({ plan: 'pro' });
    expect(missing.json().code).toBe('VAULT_FIELD_REQUIRED');
    const unread = await api.get(randomUUID(), '?fields=nope');
    expect(unread.json().code).toBe('VAULT_FIELD_NOT_IN_SCHEMA');
  });

  it('refuses a duplicate unique email, also differently cased or in its IDNA form, with 409 and no second record', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    expect((await api.create({ email: 'jörg@müller.example' })).statusCode).toBe(201);
    for (const email of ['jörg@müller.example', 'JÖRG@MÜLLER.EXAMPLE', 'jörg@xn--mller-kva.example', '  Jörg@Müller.Example ']) {
      const r = await api.create({ email });
      expect(r.statusCode, email).toBe(409);
      expect(r.json().code).toBe('VAULT_DUPLICATE_VALUE');
      expect(r.json().errors).toEqual([{ path: 'fields.email', message: 'already taken' }]);
    }
    const other = await api.create({ email: 'jorg@muller.example' });
    expect(other.statusCode).toBe(201);
    expect((await api.update(other.json().id, { email: 'JÖRG@müller.example' })).statusCode).toBe(409);
    expect((await api.list()).json().items).toHaveLength(2);
  });

  it('a concurrent burst of one email in different spellings creates exactly one record (the rest 409)', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const spellings = ['burst@bücher.example', 'BURST@Bücher.example', 'burst@xn--bcher-kva.example', ' Burst@BÜCHER.EXAMPLE'];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => api.create({ email: spellings[i % spellings.length] })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, ...Array(11).fill(409)]);
    expect(results.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'VAULT_DUPLICATE_VALUE')).toBe(true);
    expect((await api.list()).json().items).toHaveLength(1);
  });

  it('creates are idempotent with Idempotency-Key', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const key = { 'idempotency-key': randomUUID() };
    const a = await api.create({ email: 'once@example.org' }, key);
    const b = await api.create({ email: 'once@example.org' }, key);
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotency-replayed']).toBe('true');
    expect(b.json().id).toBe(a.json().id);
    expect((await api.list()).json().items).toHaveLength(1);
  });

  it('equality search returns exactly the matching records, never another tenant’s', async () => {
    const [tid, other] = [await newTenant(t), await newTenant(t)];
    await createCollection(t, tid);
    await createCollection(t, other);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const otherApi = recordsApi(t, other, await apiKey(t, other, ALL_PURPOSES));
    const ids: Record<string, string> = {};
    for (const [n, plan, phone] of [['a', 'pro', '+49 30 1234567'], ['b', 'pro', '+49 30 7654321'], ['c', 'free', '+49 30 1234567']] as const) {
      ids[n] = (await api.create({ email: `${n}@example.org`, plan, phone })).json().id;
    }
    await otherApi.create({ email: 'a@example.org', plan: 'pro', phone: '+49 30 1234567' });
    const search = async (where: Record<string, unknown>) => {
      const r = await api.search({ where, reason: 'app_functionality' });
      expect(r.statusCode, r.body).toBe(200);
      return (r.json().items as Array<{ id: string }>).map((x) => x.id).sort();
    };
    expect(await search({ plan: 'pro' })).toEqual([ids.a, ids.b].sort());
    expect(await search({ phone: '030 1234567' })).toEqual([ids.a, ids.c].sort());
    expect(await search({ plan: 'pro', phone: '+4930 1234567' })).toEqual([ids.a]);
    expect(await search({ email: 'A@Example.org' })).toEqual([ids.a]);
    expect(await search({ email: 'nobody@example.org' })).toEqual([]);
    const notSearchable = await api.search({ where: { birthDate: '2000-01-01' } });
    expect(notSearchable.json().code).toBe('VAULT_FIELD_NOT_SEARCHABLE');
    const reads = (await outboxEvents(t.custos)).filter((e) => e.tenant_uid === tid && e.custos.action === 'vault.record.read') as Array<Record<string, Record<string, unknown>>>;
    expect(reads.map((e) => e.unmapped?.where)).toContainEqual(['plan', 'phone']);
    expect(JSON.stringify(reads)).not.toContain('+49301234567');
  });

  it("answers another tenant's collection, record and subject ids with 404 and a security event", async () => {
    const [tid, other] = [await newTenant(t), await newTenant(t)];
    await createCollection(t, tid);
    await createCollection(t, other);
    const mine = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const theirs = recordsApi(t, other, await apiKey(t, other, ALL_PURPOSES)).create({ email: 'x@example.org' });
    const rec = (await theirs).json();
    // Their record id through my tenant: not found (and probed).
    const r1 = await mine.get(rec.id, '?reason=support');
    expect(r1.statusCode).toBe(404);
    const r2 = await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/subjects/${rec.subjectId}?reason=data_subject_request`, token: (await apiKey(t, tid, ALL_PURPOSES)) });
    expect(r2.statusCode).toBe(404);
    // My key on their tenant: hidden.
    const key = await apiKey(t, tid, ALL_PURPOSES);
    const r3 = await t.request({ method: 'GET', url: `/api/v1/tenants/${other}/collections/customers/records/${rec.id}?reason=support`, token: key });
    expect(r3.statusCode).toBe(404);
    const probes = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'tenant.cross_tenant_probe');
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(probes.every((e) => e.custos.kind === 'security')).toBe(true);
    void CUSTOMERS;
  });
});
