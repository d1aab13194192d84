import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { createPerson } from './helpers/identity.js';
import { apiKey, createCollection, newTenant, recordsApi } from './helpers/vault.js';

type Ev = { custos: { action: string }; tenant_uid: string; unmapped: Record<string, unknown> };

describe.each(DIALECTS)('vault need-to-know on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('returns only the fields the reason and the caller’s purposes allow; the audit entry shows requested vs returned', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const app = recordsApi(t, tid, await apiKey(t, tid, ['app_functionality']));
    const rec = (await app.create({ email: 'ada@example.org', phone: '+49 30 1234567', birthDate: '1990-01-02', note: 'vip', plan: 'pro', seats: 2 })).json();

    // A tenant member: records:read, no purpose at all.
    const member = await createPerson(t.custos, { email: 'member@example.test', roles: ['member'], tenantId: tid });
    const asMember = recordsApi(t, tid, member.token);
    const m = await asMember.get(rec.id, '?reason=support');
    expect(m.statusCode, m.body).toBe(200);
    expect(m.json().fields).toEqual({ plan: 'pro', seats: 2 });
    expect(m.json().withheld.sort()).toEqual(['birthDate', 'email', 'note', 'phone']);
    expect(m.body).not.toContain('ada@example.org');

    // The app key holds app_functionality: email and phone, not the support note or the birth date.
    const a = await app.get(rec.id, '?reason=app_functionality');
    expect(a.json().fields).toEqual({ email: 'ada@example.org', phone: '+49301234567', plan: 'pro', seats: 2 });
    expect(a.json().withheld.sort()).toEqual(['birthDate', 'note']);
    // A reason the key does not hold returns no personal field; no reason at all neither.
    expect((await app.get(rec.id, '?reason=support')).json().fields).toEqual({ plan: 'pro', seats: 2 });
    expect((await app.get(rec.id)).json().fields).toEqual({ plan: 'pro', seats: 2 });

    // A support key: email and note.
    const support = recordsApi(t, tid, await apiKey(t, tid, ['support']));
    expect((await support.get(rec.id, '?reason=support&fields=email,note,phone')).json()).toMatchObject({ fields: { email: 'ada@example.org', note: 'vip' }, withheld: ['phone'] });
    // Lists and searches filter the same way.
    const found = await asMember.search({ where: { email: 'ADA@example.org' }, reason: 'support' });
    expect(found.json().items).toHaveLength(1);
    expect(found.json().items[0].fields).toEqual({ plan: 'pro', seats: 2 });

    const reads = (await outboxEvents(t.custos)).filter((e) => e.tenant_uid === tid && e.custos.action === 'vault.record.read') as unknown as Ev[];
    const byMember = reads.find((e) => e.unmapped.reason === 'support' && (e.unmapped.returned as string[]).length === 2);
    expect(byMember?.unmapped).toMatchObject({ collection: 'customers', requested: ['email', 'phone', 'birthDate', 'note', 'plan', 'seats'], returned: ['plan', 'seats'], records: [rec.id] });
    const bySupport = reads.find((e) => (e.unmapped.requested as string[]).join() === 'email,note,phone');
    expect(bySupport?.unmapped.returned).toEqual(['email', 'note']);
    expect(JSON.stringify(reads)).not.toContain('ada@example.org');
  });

  it('needs records:read to read at all, and collections:manage to define schemas', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid);
    const writer = recordsApi(t, tid, await apiKey(t, tid, ['support'], ['records:write']));
    const rec = await writer.create({ email: 'x@example.org' });
    expect(rec.statusCode, rec.body).toBe(201);
    expect((await writer.get(rec.json().id, '?reason=support')).json().code).toBe('ACCESS_DENIED');
    // The platform admin defines schemas but reads no personal data.
    const admin = await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/collections/customers/records/${rec.json().id}?reason=support` });
    expect(admin.statusCode).toBe(403);
    const viewer = await createPerson(t.custos, { email: 'viewer@example.test', roles: ['viewer'], tenantId: tid });
    const r = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/collections`, token: viewer.token, body: { name: 'x', subjectField: 'e', retentionDays: 1, fields: {} } });
    expect(r.statusCode).toBe(403);
  });
});
