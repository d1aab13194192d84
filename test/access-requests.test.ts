import { afterEach, describe, expect, it } from 'vitest';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { createPerson, fakeClock } from './helpers/identity.js';

describe.each(DIALECTS)('access requests (%s)', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  async function tenant(slug: string): Promise<string> {
    const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug, name: slug } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  }

  it('request → self-approval refused → approval by another → access works → expiry → access gone; every step audited', async () => {
    const clock = fakeClock();
    t = await testApp(dialect, { clock });
    const acme = await tenant(`acme-${dialect}`);
    const support = await createPerson(t.custos, { email: 'sam.support@example.test', roles: ['support'], now: clock.now });
    const keys = () => t.request({ method: 'GET', url: `/api/v1/tenants/${acme}/api-keys`, token: support.token });
    expect((await keys()).json().code, 'support reaches tenant data only through a grant').toBe('ACCESS_DENIED');

    const asked = await t.request({ method: 'POST', url: '/api/v1/access-requests', token: support.token, body: { tenantId: acme, role: 'api_keys:read', purposes: ['support'], minutes: 20, reason: 'ticket 4711: key list' } });
    expect(asked.statusCode, asked.body).toBe(201);
    const id = asked.json().id as string;
    expect(asked.json()).toMatchObject({ status: 'pending', reason: 'ticket 4711: key list', purposes: ['support'] });
    expect((await t.request({ method: 'POST', url: `/api/v1/access-requests/${id}/approve`, token: support.token })).statusCode).toBe(403);

    // An approver cannot approve their own request either.
    const own = await t.request({ method: 'POST', url: '/api/v1/access-requests', body: { tenantId: acme, role: 'owner', minutes: 5, reason: 'self-service attempt' } });
    const selfApprove = await t.request({ method: 'POST', url: `/api/v1/access-requests/${own.json().id}/approve` });
    expect(selfApprove.statusCode).toBe(403);
    expect(selfApprove.json().code).toBe('ACCESS_REQUEST_SELF_APPROVAL');

    const pending = await t.request({ method: 'GET', url: '/api/v1/access-requests?view=pending' });
    expect(pending.json().items.map((r: { id: string }) => r.id)).toContain(id);
    const approved = await t.request({ method: 'POST', url: `/api/v1/access-requests/${id}/approve` });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().status).toBe('approved');
    expect((await t.request({ method: 'POST', url: `/api/v1/access-requests/${id}/approve` })).json().code).toBe('ACCESS_REQUEST_NOT_PENDING');

    expect((await keys()).statusCode, 'access works').toBe(200);
    const actor = await t.custos.identity.authenticateSession(support.token);
    expect(() => t.custos.identity.deps.guard.assertPurpose({ ...systemContext('t'), actor: actor! }, 'support', { tenantId: acme })).not.toThrow();
    const mine = await t.request({ method: 'GET', url: '/api/v1/access-requests?view=active', token: support.token });
    expect(mine.json().items).toHaveLength(1);
    const other = await tenant(`other-${dialect}`);
    expect((await t.request({ method: 'GET', url: `/api/v1/tenants/${other}/api-keys`, token: support.token })).statusCode, 'only in the granted tenant').toBe(403);

    clock.advance(21 * 60_000);
    expect((await keys()).json().code, 'access gone after expiry').toBe('ACCESS_DENIED');
    expect(await t.custos.accessRequests.sweep(systemContext('test'))).toBe(1);
    expect(await t.custos.accessRequests.sweep(systemContext('test'))).toBe(0);
    const expired = await t.request({ method: 'GET', url: '/api/v1/access-requests?view=expired', token: support.token });
    expect(expired.json().items.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[id, 'expired']]);

    const events = (await outboxEvents(t.custos)).filter((e) => JSON.stringify(e).includes(id));
    expect(events.map((e) => e.custos.action)).toEqual(['access_request.create', 'access_request.approve', 'access_request.expire']);
    expect(events.every((e) => e.class_uid === 3005)).toBe(true);
    expect(JSON.stringify(await outboxEvents(t.custos))).not.toContain('ticket 4711');
  });

  it('denial, early revocation, wrong scopes and API keys are refused', async () => {
    const clock = fakeClock();
    t = await testApp(dialect, { clock });
    const acme = await tenant(`acme2-${dialect}`);
    const member = await createPerson(t.custos, { email: 'mia.member@example.test', roles: ['member'], tenantId: acme, now: clock.now });
    const ask = (body: Record<string, unknown>, token = member.token) => t.request({ method: 'POST', url: '/api/v1/access-requests', token, body: { minutes: 30, reason: 'need it', ...body } });
    expect((await ask({ role: 'platform_admin' })).json().code).toBe('ACCESS_REQUEST_INVALID');
    expect((await ask({ tenantId: acme, role: 'auditor' })).json().code).toBe('ACCESS_REQUEST_INVALID');
    expect((await ask({ tenantId: acme, role: 'admin', purposes: ['gossip'] })).json().code).toBe('ACCESS_REQUEST_INVALID');
    const denied = await ask({ tenantId: acme, role: 'admin' });
    expect((await t.request({ method: 'POST', url: `/api/v1/access-requests/${denied.json().id}/deny` })).json().status).toBe('denied');
    const granted = await ask({ tenantId: acme, role: 'admin' });
    await t.request({ method: 'POST', url: `/api/v1/access-requests/${granted.json().id}/approve` });
    const keys = () => t.request({ method: 'GET', url: `/api/v1/tenants/${acme}/api-keys`, token: member.token });
    expect((await keys()).statusCode).toBe(200);
    const revoked = await t.request({ method: 'POST', url: `/api/v1/access-requests/${granted.json().id}/revoke`, token: member.token });
    expect(revoked.json().status, revoked.body).toBe('revoked');
    expect((await keys()).statusCode).toBe(403);
    const apiKey = await t.request({ method: 'POST', url: `/api/v1/tenants/${acme}/api-keys`, body: { name: 'app', permissions: ['records:read'], purposes: [] } });
    expect((await ask({ tenantId: acme, role: 'admin' }, apiKey.json().token)).json().code).toBe('ACCESS_DENIED');
    const actions = (await outboxEvents(t.custos)).map((e) => e.custos.action);
    expect(actions).toEqual(expect.arrayContaining(['access_request.deny', 'access_request.revoke']));
  });
});
