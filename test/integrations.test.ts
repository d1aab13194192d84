import { createHmac, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scopeTenant } from '../src/db/index.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';

const WEBHOOK_SECRET = 'whsec_integration_test_0123456789';

async function tenant(t: TestApp): Promise<string> {
  const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('int'), name: 'Integrations' } });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().id as string;
}

describe.each(DIALECTS)('integrations API on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('stores an OAuth token: returns metadata and an HMAC fingerprint, never the token; lists, gets, deletes; audits each change', async () => {
    const tid = await tenant(t);
    const body = {
      kind: 'oauth',
      name: 'GitHub',
      provider: 'github',
      accessToken: 'gho_access_token_value_1',
      refreshToken: 'ghr_refresh_token_value_1',
      scopes: ['repo', 'read:org'],
      expiresAt: '2030-01-01T00:00:00Z',
    };
    const created = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body });
    expect(created.statusCode, created.body).toBe(201);
    const it1 = created.json();
    expect(it1).toMatchObject({ tenantId: tid, kind: 'oauth', name: 'GitHub', provider: 'github', scopes: ['repo', 'read:org'], hasRefreshToken: true, subjectId: null });
    expect(it1.expiresAt).toBe('2030-01-01T00:00:00.000Z');
    expect(it1.fingerprint).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{22}$/);
    expect(created.body).not.toContain('gho_access_token_value_1');
    expect(created.body).not.toContain('ghr_refresh_token_value_1');

    const got = await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/integrations/${it1.id}` });
    expect(got.json()).toEqual(it1);
    const list = await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/integrations` });
    expect(list.json().items).toEqual([it1]);
    expect(list.body).not.toContain('gho_');

    const del = await t.request({ method: 'DELETE', url: `/api/v1/tenants/${tid}/integrations/${it1.id}` });
    expect(del.statusCode).toBe(204);
    const gone = await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/integrations/${it1.id}` });
    expect(gone.statusCode).toBe(404);

    const actions = (await outboxEvents(t.custos)).filter((e) => e.tenant_uid === tid).map((e) => e.custos.action);
    expect(actions).toContain('integration.create');
    expect(actions).toContain('integration.delete');
    expect(actions.filter((a) => a === 'key.create').length).toBeGreaterThanOrEqual(3); // KEK, DEK, index key
  });

  it('the same secret in two tenants has unrelated fingerprints; in one tenant the same', async () => {
    const [a, b] = [await tenant(t), await tenant(t)];
    const fp = async (tid: string, name: string) =>
      (await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name, provider: 'stripe', secret: WEBHOOK_SECRET } })).json()
        .fingerprint as string;
    const a1 = await fp(a, 'one');
    expect(await fp(a, 'two')).toBe(a1);
    expect(await fp(b, 'one')).not.toBe(a1);
  });

  it('signs a payload with the webhook secret server-side (verifiable), audits each use, and refuses an OAuth integration', async () => {
    const tid = await tenant(t);
    const hook = (await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name: 'hook', provider: 'stripe', secret: WEBHOOK_SECRET } })).json();
    const r = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations/${hook.id}/sign`, body: { payload: '{"event":"ping"}', timestamp: 1700000000 } });
    expect(r.statusCode, r.body).toBe(200);
    const expected = createHmac('sha256', WEBHOOK_SECRET).update('1700000000.{"event":"ping"}').digest('hex');
    expect(r.json()).toEqual({ algorithm: 'hmac-sha256', timestamp: 1700000000, signature: expected, header: `t=1700000000,v1=${expected}` });
    expect(r.body).not.toContain(WEBHOOK_SECRET);
    const after = (await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/integrations/${hook.id}` })).json();
    expect(after.lastUsedAt).not.toBeNull();
    const uses = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'integration.secret.use');
    expect(uses).toHaveLength(1);
    expect(uses[0]).toMatchObject({ status: 'Success', unmapped: { use: 'sign', kind: 'webhook' }, resources: [{ type: 'integration', uid: hook.id }] });

    const oauth = (
      await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'oauth', name: 'o', provider: 'x', accessToken: 'tok_0123456789', scopes: [] } })
    ).json();
    const refused = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations/${oauth.id}/sign`, body: { payload: 'x' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('INTEGRATION_KIND_MISMATCH');
  });

  it('withSecret hands server-side code the decrypted secret, audits the use first, and zeroes it afterwards', async () => {
    const tid = await tenant(t);
    const created = await t.custos.integrations.create(systemContext('test'), tid, {
      kind: 'oauth',
      name: 'svc',
      provider: 'slack',
      accessToken: 'xoxb-server-side-token',
      scopes: ['chat:write'],
    });
    let held: Buffer | undefined;
    const header = await t.custos.integrations.withSecret(systemContext('test'), tid, created.id, 'outbound-call', (s) => {
      held = s.accessToken;
      return `Bearer ${s.accessToken?.toString('utf8')}`;
    });
    expect(header).toBe('Bearer xoxb-server-side-token');
    expect(held?.every((b) => b === 0)).toBe(true);
    const use = (await outboxEvents(t.custos)).find((e) => e.custos.action === 'integration.secret.use');
    expect(use).toMatchObject({ unmapped: { use: 'outbound-call', provider: 'slack' } });
  });

  it('Idempotency-Key: a retry replays the first response and stores one integration', async () => {
    const tid = await tenant(t);
    const body = { kind: 'webhook', name: 'idem', provider: 'p', secret: WEBHOOK_SECRET };
    const headers = { 'idempotency-key': 'integration-key-0001' };
    const [a, b] = await Promise.all([
      t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body, headers }),
      t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body, headers }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).toBe(b.json().id);
    const list = (await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/integrations` })).json();
    expect(list.items).toHaveLength(1);
  });

  it('refuses a duplicate name (409), bad input (400) and reaches nothing of a suspended tenant (403)', async () => {
    const tid = await tenant(t);
    const body = { kind: 'webhook', name: 'dup', provider: 'p', secret: WEBHOOK_SECRET };
    const first = (await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body })).json();
    const dup = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('INTEGRATION_NAME_TAKEN');
    for (const bad of [{ ...body, secret: 'short' }, { ...body, kind: 'ftp' }, { ...body, extra: 1 }, { ...body, subjectId: 'not-a-uuid' }]) {
      const r = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { ...bad, name: 'other' } });
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.body).not.toContain(WEBHOOK_SECRET);
    }
    await t.request({ method: 'PATCH', url: `/api/v1/tenants/${tid}`, body: { state: 'suspended' } });
    for (const [method, url, b] of [
      ['GET', `/api/v1/tenants/${tid}/integrations`, undefined],
      ['GET', `/api/v1/tenants/${tid}/integrations/${first.id}`, undefined],
      ['POST', `/api/v1/tenants/${tid}/integrations/${first.id}/sign`, { payload: 'x' }],
      ['POST', `/api/v1/tenants/${tid}/integrations`, { ...body, name: 'new' }],
    ] as const) {
      const r = await t.request({ method, url, body: b });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().code).toBe('TENANT_NOT_ACTIVE');
    }
  });

  it('a secret envelope copied to another integration row (same tenant) fails to decrypt: the AAD binds the integration id', async () => {
    const tid = await tenant(t);
    const mk = async (name: string) =>
      (await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name, provider: 'p', secret: `${name}-secret-value` } })).json()
        .id as string;
    const [x, y] = [await mk('x'), await mk('y')];
    const db = t.custos.db;
    await db.write(async (tx) => {
      const s = await scopeTenant(db.adapter, tx, tid);
      const row = await s.selectFrom('integrations').select('secret').where('id', '=', x).executeTakeFirstOrThrow();
      await s.updateTable('integrations').set({ secret: row.secret }).where('id', '=', y).execute();
    });
    const r = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations/${y}/sign`, body: { payload: 'x' } });
    expect(r.statusCode).toBe(500);
    expect(r.json().code).toBe('CRYPTO_DECRYPT_FAILED');
    const failed = (await outboxEvents(t.custos)).find((e) => e.custos.action === 'integration.secret.use' && e.status === 'Failure');
    expect(failed).toMatchObject({ unmapped: { code: 'CRYPTO_DECRYPT_FAILED' } });
    expect(randomUUID()).toBeTruthy();
  });
});
