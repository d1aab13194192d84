import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scopeTenant } from '../src/db/index.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { ALL_PURPOSES, apiKey, createCollection, CUSTOMERS, newTenant, recordsApi } from './helpers/vault.js';

const email = { type: 'email', personal: true, category: 'user.contact.email', required: true, purposes: ['support'] };
const base = { name: 'c', subjectField: 'email', retentionDays: 30 };

describe.each(DIALECTS)('vault collection schemas on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('refuses invalid schemas, naming each problem', async () => {
    const tid = await newTenant(t);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ email: { ...email, category: 'User.Contact' } }, 'fields.email.category'],
      [{ email: { ...email, purposes: undefined } }, 'fields.email.purposes'],
      [{ email, phone: { type: 'phone', category: 'user.contact.phone_number' } }, 'fields.phone.personal'],
      [{ email, prefs: { type: 'object', unique: true, personal: true, category: 'user.preferences', purposes: ['support'] } }, 'fields.prefs'],
      [{ email: { ...email, personal: false, category: undefined, purposes: undefined } }, 'subjectField'],
      [{ email: { ...email, required: false } }, 'subjectField'],
      [{ email: { ...email, type: 'date' } }, 'subjectField'],
      [{ email, 'bad-name': { type: 'string' } }, 'fields.bad-name'],
      [{ email, phone: { type: 'phone', personal: true, category: 'user.contact.phone_number', purposes: ['support'], region: 'XX' } }, 'fields.phone.region'],
      [{ email, n: { type: 'number', region: 'DE' } }, 'fields.n.region'],
    ];
    for (const [fields, path] of bad) {
      const r = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/collections`, body: { ...base, fields } });
      expect(r.statusCode, `${path}: ${r.body}`).toBe(400);
      expect(r.json().code).toBe('VAULT_SCHEMA_INVALID');
      expect(r.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const missing = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/collections`, body: { ...base, subjectField: 'nobody', fields: { email } } });
    expect(missing.json().errors[0]).toMatchObject({ path: 'subjectField' });
    // Unknown keys: refused by the route schema, and by the service for callers that bypass HTTP.
    const unknownKey = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/collections`, body: { ...base, fields: { email: { ...email, encrypted: true } } } });
    expect(unknownKey.statusCode).toBe(400);
    await expect(t.custos.vault.createCollection(systemContext('test'), tid, 'c', { ...base, name: undefined, fields: { email: { ...email, encrypted: true } } })).rejects.toMatchObject({ code: 'VAULT_SCHEMA_INVALID' });
    await createCollection(t, tid, { ...base, fields: { email } });
    const again = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/collections`, body: { ...base, fields: { email } } });
    expect(again.json().code).toBe('VAULT_COLLECTION_EXISTS');
  });

  it('versions schema changes; a removed field is erased from every record, its index too; incompatible changes refused', async () => {
    const tid = await newTenant(t);
    const created = await createCollection(t, tid);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const rec = (await api.create({ email: 'ada@example.org', phone: '+49 30 1234567', note: 'secret note', plan: 'pro' })).json();
    const { name: _n, ...schema } = CUSTOMERS;
    const url = `/api/v1/tenants/${tid}/collections/customers`;

    const typeChange = await t.request({ method: 'PUT', url, body: { ...schema, fields: { ...schema.fields, seats: { type: 'string' } } } });
    expect(typeChange.statusCode).toBe(409);
    expect(typeChange.json().code).toBe('VAULT_SCHEMA_CHANGE_INVALID');
    const nowSearchable = await t.request({ method: 'PUT', url, body: { ...schema, fields: { ...schema.fields, seats: { type: 'number', searchable: true } } } });
    expect(nowSearchable.json().code).toBe('VAULT_SCHEMA_CHANGE_INVALID');

    const { phone: _p, note: _x, ...kept } = schema.fields;
    const next = await t.request({ method: 'PUT', url, body: { ...schema, fields: { ...kept, tier: { type: 'string' } } } });
    expect(next.statusCode, next.body).toBe(200);
    expect(next.json()).toMatchObject({ id: created.id, version: 2 });
    expect(Object.keys(next.json().fields)).toEqual(['email', 'birthDate', 'plan', 'seats', 'tier']);
    const versions = (await t.request({ method: 'GET', url: `${url}/versions` })).json().items;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(Object.keys(versions[0].fields)).toContain('phone');

    const got = (await api.get(rec.id, '?reason=support')).json();
    expect(got.fields).toEqual({ email: 'ada@example.org', plan: 'pro' });
    expect(got.withheld).toEqual([]);
    const rows = await t.custos.db.read(async (tx) => {
      const s = await scopeTenant(t.custos.db.adapter, tx, tid);
      return { rec: await s.selectFrom('vault_records').selectAll().execute(), idx: await s.selectFrom('vault_index').select('field').execute() };
    });
    expect(Object.keys(JSON.parse(rows.rec[0]?.sealed ?? '{}'))).toEqual(['email']);
    expect(rows.idx.map((r) => r.field).sort()).toEqual(['email', 'plan']);
    expect((await api.create({ email: 'b@example.org', phone: '+49 30 1234567' })).json().code).toBe('VAULT_FIELD_NOT_IN_SCHEMA');
    const ev = (await outboxEvents(t.custos)).find((e) => e.custos.action === 'vault.collection.update') as unknown as { unmapped: Record<string, unknown> };
    expect(ev.unmapped).toMatchObject({ from: 1, version: 2, removed: ['phone', 'note'], added: ['tier'], recordsErased: 1 });

    expect((await t.request({ method: 'DELETE', url })).json().code).toBe('VAULT_COLLECTION_NOT_EMPTY');
    expect((await api.remove(rec.id)).statusCode).toBe(204);
    expect((await t.request({ method: 'DELETE', url })).statusCode).toBe(204);
    expect((await t.request({ method: 'GET', url })).statusCode).toBe(404);
  });

  it('reports probable duplicates: other subjects’ records sharing a blind-indexed value, with the fields that matched', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const api = recordsApi(t, tid, await apiKey(t, tid, ALL_PURPOSES));
    const a = (await api.create({ email: 'a@example.org', phone: '+49 30 1234567', plan: 'pro' })).json();
    const b = (await api.create({ email: 'b@example.org', phone: '030 1234567', plan: 'pro' })).json();
    const c = (await api.create({ email: 'c@example.org', phone: '+49 30 7654321', plan: 'free' })).json();
    const r = await api.duplicates(a.id);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().items).toEqual([{ recordId: b.id, subjectId: b.subjectId, matchedFields: expect.arrayContaining(['phone', 'plan']) }]);
    expect((await api.duplicates(c.id)).json().items).toEqual([]);
  });
});
