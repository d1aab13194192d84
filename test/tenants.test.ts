import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';

describe.each(DIALECTS)('tenants API on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('creates, reads, lists, renames and changes state, one audit event per change', async () => {
    const slug = uniqueSlug();
    const created = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug, name: 'Acme' } });
    expect(created.statusCode).toBe(201);
    const tenant = created.json();
    expect(tenant).toMatchObject({ slug, name: 'Acme', state: 'active' });

    const got = await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}` });
    expect(got.json()).toEqual(tenant);

    const renamed = await t.request({ method: 'PATCH', url: `/api/v1/tenants/${tenant.id}`, body: { name: 'Acme Ltd' } });
    expect(renamed.json().name).toBe('Acme Ltd');
    const suspended = await t.request({ method: 'PATCH', url: `/api/v1/tenants/${tenant.id}`, body: { state: 'suspended' } });
    expect(suspended.json().state).toBe('suspended');

    const events = (await outboxEvents(t.custos)).filter((e) => e.tenant_uid === tenant.id);
    expect(events.map((e) => e.custos.action)).toEqual(['tenant.create', 'tenant.update', 'tenant.state.suspended']);
    expect(events[2]).toMatchObject({ unmapped: { from: 'active', to: 'suspended' }, status: 'Success', class_uid: 3004 });
  });

  it('refuses a duplicate slug with 409 and leaves no event', async () => {
    const slug = uniqueSlug();
    await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug, name: 'A' } });
    const before = (await outboxEvents(t.custos)).length;
    const dup = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug, name: 'B' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('TENANT_SLUG_TAKEN');
    expect((await outboxEvents(t.custos)).length).toBe(before);
  });

  it('refuses a transition the state machine does not allow', async () => {
    const tenant = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug(), name: 'A' } })).json();
    const r = await t.request({ method: 'PATCH', url: `/api/v1/tenants/${tenant.id}`, body: { state: 'purged' } });
    expect(r.statusCode).toBe(400);
    const closed = await t.request({ method: 'PATCH', url: `/api/v1/tenants/${tenant.id}`, body: { state: 'closed' } });
    expect(closed.statusCode).toBe(200);
    const bad = await t.request({ method: 'PATCH', url: `/api/v1/tenants/${tenant.id}`, body: { state: 'suspended' } });
    expect(bad.statusCode).toBe(409);
    expect(bad.json().code).toBe('TENANT_STATE_TRANSITION_INVALID');
  });

  it('paginates with an opaque cursor and rejects a forged one', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug(), name: `T${i}` } })).json().id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = (await t.request({ method: 'GET', url: `/api/v1/tenants${q}` })).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((x: { id: string }) => x.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    const forged = await t.request({ method: 'GET', url: '/api/v1/tenants?cursor=AAAA' });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().code).toBe('PAGINATION_CURSOR_INVALID');
  });

  it('answers 404 for an unknown tenant and 401 without credentials', async () => {
    const r = await t.request({ method: 'GET', url: '/api/v1/tenants/01890a5d-ac96-774b-bcce-b302099a8057' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toContain('application/problem+json');
    const anon = await t.request({ method: 'GET', url: '/api/v1/tenants', token: null });
    expect(anon.statusCode).toBe(401);
    const wrong = await t.request({ method: 'GET', url: '/api/v1/tenants', token: 'cbt_nottherightone' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('AUTH_INVALID_TOKEN');
  });

  describe('Idempotency-Key', () => {
    it('replays the first response for the same key and body and creates nothing more', async () => {
      const body = { slug: uniqueSlug(), name: 'Idem' };
      const headers = { 'idempotency-key': 'key-0001-abcdef' };
      const first = await t.request({ method: 'POST', url: '/api/v1/tenants', body, headers });
      const again = await t.request({ method: 'POST', url: '/api/v1/tenants', body, headers });
      expect(first.statusCode).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotency-replayed']).toBe('true');
      const events = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'tenant.create' && e.tenant_uid === first.json().id);
      expect(events).toHaveLength(1);
    });

    it('refuses the same key with a different body (422)', async () => {
      const headers = { 'idempotency-key': 'key-0002-abcdef' };
      await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug(), name: 'A' }, headers });
      const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug(), name: 'B' }, headers });
      expect(r.statusCode).toBe(422);
      expect(r.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('creates once under 20 concurrent retries with one key', async () => {
      const body = { slug: uniqueSlug(), name: 'Burst' };
      const headers = { 'idempotency-key': 'key-0003-abcdef' };
      const all = await Promise.all(Array.from({ length: 20 }, () => t.request({ method: 'POST', url: '/api/v1/tenants', body, headers })));
      expect(all.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
      expect(new Set(all.map((r) => r.json().id)).size).toBe(1);
      const list = (await t.request({ method: 'GET', url: '/api/v1/tenants?limit=200' })).json();
      expect(list.items.filter((x: { slug: string }) => x.slug === body.slug)).toHaveLength(1);
    });

    it('refuses a malformed key', async () => {
      const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug(), name: 'A' }, headers: { 'idempotency-key': 'short' } });
      expect(r.statusCode).toBe(400);
      expect(r.json().code).toBe('IDEMPOTENCY_KEY_INVALID');
    });
  });
});
