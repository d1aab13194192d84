import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { ADMIN_PASSWORD, fakeClock, totpCode } from './helpers/identity.js';

describe.each(DIALECTS)('identity security (%s)', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  it('successful logins fill neither the address nor the MFA counter (regression: good logins locked an office and an account)', async () => {
    const clock = fakeClock();
    t = await testApp(dialect, { clock, overrides: { 'identity.lockout.ipMax': 2, 'identity.lockout.accountMax': 2 } });
    for (let i = 0; i < 4; i++) {
      clock.advance(31_000);
      const r = await t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: t.admin.email, password: ADMIN_PASSWORD } });
      expect(r.statusCode, `login ${i + 1}: ${r.body}`).toBe(200);
      const mfa = await t.request({ method: 'POST', url: '/api/v1/auth/mfa/verify', token: null, body: { mfaToken: r.json().mfaToken, method: 'totp', code: totpCode(t.admin.totpSecret, clock.now()) } });
      expect(mfa.statusCode, `mfa ${i + 1}: ${mfa.body}`).toBe(200);
    }
  });

  it('50 parallel wrong passwords: at most accountMax are evaluated, then the account is locked', async () => {
    const clock = fakeClock();
    t = await testApp(dialect, { clock });
    const deps = t.custos.identity.deps;
    let evaluated = 0;
    const verify = deps.hasher.verify;
    deps.hasher.verify = async (h, p) => {
      evaluated++;
      return verify(h, p);
    };
    const attempts = await Promise.all(
      Array.from({ length: 50 }, () => t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: t.admin.email, password: 'wrong wrong wrong wrong' } })),
    );
    expect(evaluated).toBeLessThanOrEqual(5);
    expect(attempts.filter((r) => r.statusCode === 429).length).toBeGreaterThanOrEqual(45);
    const unknown = await Promise.all(
      Array.from({ length: 10 }, () => t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: 'ghost@example.test', password: 'wrong wrong wrong wrong' } })),
    );
    expect(unknown.filter((r) => r.statusCode === 429).length).toBe(5);
    clock.advance(61_000);
    const after = await t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: t.admin.email, password: 'wrong wrong wrong wrong' } });
    expect(after.statusCode).toBe(401);
  });

  it('50 parallel wrong MFA codes: at most accountMax are evaluated', async () => {
    const clock = fakeClock();
    t = await testApp(dialect, { clock });
    const login = await t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: t.admin.email, password: 'correct horse battery staple 42' } });
    const mfaToken = login.json().mfaToken as string;
    const tries = await Promise.all(
      Array.from({ length: 50 }, (_, i) => t.request({ method: 'POST', url: '/api/v1/auth/mfa/verify', token: null, body: { mfaToken, method: 'totp', code: String(100000 + i) } })),
    );
    expect(tries.filter((r) => r.statusCode === 401).length).toBeLessThanOrEqual(5);
    expect(tries.filter((r) => r.statusCode === 429).length).toBeGreaterThanOrEqual(45);
    const right = await t.request({ method: 'POST', url: '/api/v1/auth/mfa/verify', token: null, body: { mfaToken, method: 'totp', code: totpCode(t.admin.totpSecret, clock.now(), 1) } });
    expect(right.json().code).toBe('AUTH_LOCKED');
  });

  it('API key rotation: both work during the overlap, only the new after; offboarding flags keys with a security event', async () => {
    const clock = fakeClock();
    t = await testApp(dialect, { clock });
    const tenant = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: 'keys', name: 'Keys' } })).json();
    const other = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: 'other-tenant', name: 'Other' } })).json();
    const created = await t.request({ method: 'POST', url: `/api/v1/tenants/${tenant.id}/api-keys`, body: { name: 'app', permissions: ['api_keys:read'], purposes: [] } });
    expect(created.statusCode, created.body).toBe(201);
    const oldToken = created.json().token as string;
    expect(oldToken).toMatch(/^cus_/);
    const list = (token: string) => t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/api-keys`, token });
    expect((await list(oldToken)).statusCode).toBe(200);
    const rotated = await t.request({ method: 'POST', url: `/api/v1/tenants/${tenant.id}/api-keys/${created.json().key.id}/rotate` });
    expect(rotated.statusCode, rotated.body).toBe(201);
    const newToken = rotated.json().token as string;
    expect((await list(oldToken)).statusCode).toBe(200);
    expect((await list(newToken)).statusCode).toBe(200);
    clock.advance(25 * 3600_000);
    expect((await list(oldToken)).statusCode).toBe(401);
    const keys = await list(newToken);
    expect(keys.statusCode).toBe(200);
    expect(keys.json().items[0].lastUsedAt).not.toBeNull();
    // Another tenant's key sees this tenant as not found.
    const probe = await t.request({ method: 'GET', url: `/api/v1/tenants/${other.id}/api-keys`, token: newToken });
    expect(probe.statusCode, probe.body).toBe(404);
    // Offboarding the creator (the admin, as another admin would) flags the key.
    const off = await t.custos.identity.deactivate(
      { actor: { type: 'system', id: 'test' }, requestId: 'offboard-test', sourceIp: null },
      t.admin.accountId,
    );
    expect(off.status).toBe('deactivated');
    const flagged = await t.custos.db.read((tx) => tx.selectFrom('api_keys').select(['flagged_at', 'flag_reason']).execute());
    expect(flagged.every((k) => k.flagged_at !== null)).toBe(true);
    const events = await outboxEvents(t.custos);
    const offboard = events.find((e) => e.custos.action === 'account.offboard');
    expect(offboard?.custos.kind).toBe('security');
    expect(events.map((e) => e.custos.action)).toEqual(expect.arrayContaining(['api_key.create', 'api_key.rotate']));
    expect((await list(newToken)).statusCode).toBe(200);
  });
});
