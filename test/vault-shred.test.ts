import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, testApp, type TestApp } from './helpers/app.js';
import { ALL_PURPOSES, apiKey, createCollection, newTenant, ORDERS, recordsApi } from './helpers/vault.js';

describe.each(DIALECTS)('vault after crypto-shredding a subject on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('answers that subject’s records as erased everywhere, leaves other subjects untouched, and a returning person becomes a new subject', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    await createCollection(t, tid, ORDERS);
    const token = await apiKey(t, tid, ALL_PURPOSES);
    const customers = recordsApi(t, tid, token);
    const orders = recordsApi(t, tid, token, 'orders');
    const ada = (await customers.create({ email: 'ada@example.org', plan: 'pro' })).json();
    const order = (await orders.create({ customerEmail: 'Ada@Example.org', address: { city: 'London' }, total: 12.5 })).json();
    const bob = (await customers.create({ email: 'bob@example.org', plan: 'free' })).json();
    expect(order.subjectId, 'one subject across collections, found by the normalised subject value').toBe(ada.subjectId);
    expect(bob.subjectId).not.toBe(ada.subjectId);

    const subjectView = await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/subjects/${ada.subjectId}?reason=data_subject_request`, token });
    expect(subjectView.statusCode, subjectView.body).toBe(200);
    expect(subjectView.json().records.map((r: { id: string }) => r.id).sort()).toEqual([ada.id, order.id].sort());
    expect(subjectView.json().records.find((r: { id: string }) => r.id === order.id).fields).toEqual({ customerEmail: 'ada@example.org', total: 12.5 });

    const destroyed = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/keys/destroy`, body: { scope: 'subject', subjectId: ada.subjectId, reason: 'DSR-1: erasure' } });
    expect(destroyed.statusCode, destroyed.body).toBe(201);

    const gone = await customers.get(ada.id, '?reason=support');
    expect(gone.statusCode).toBe(410);
    expect(gone.json().code).toBe('VAULT_RECORD_ERASED');
    // Also for a reader asking no personal field.
    expect((await customers.get(ada.id)).statusCode).toBe(410);
    expect((await customers.update(ada.id, { plan: 'free' })).statusCode).toBe(410);
    const list = (await customers.list('?reason=support')).json().items as Array<{ id: string; erased: boolean; fields: object }>;
    expect(list.find((r) => r.id === ada.id)).toMatchObject({ erased: true, fields: {}, withheld: [] });
    expect(list.find((r) => r.id === bob.id)).toMatchObject({ erased: false, fields: { email: 'bob@example.org', plan: 'free' } });
    expect((await customers.get(bob.id, '?reason=support')).json().fields.email).toBe('bob@example.org');
    const view = (await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/subjects/${ada.subjectId}?reason=data_subject_request`, token })).json();
    expect(view.records.every((r: { erased: boolean }) => r.erased)).toBe(true);

    // The same person orders again: a new subject under a new key; the erased one stays erased.
    const again = await orders.create({ customerEmail: 'ada@example.org', total: 3 });
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json().subjectId).not.toBe(ada.subjectId);
    expect((await orders.get(again.json().id, '?reason=app_functionality')).json().fields.customerEmail).toBe('ada@example.org');
    expect((await orders.get(order.id, '?reason=app_functionality')).statusCode).toBe(410);
    // Deleting an erased record still works (clean-up).
    expect((await customers.remove(ada.id)).statusCode).toBe(204);
  });
});
