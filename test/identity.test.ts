import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { ADMIN_PASSWORD, totpCode } from './helpers/identity.js';

function fakeClock(start = Date.parse('2030-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

const cookieOf = (r: { headers: Record<string, unknown> }) => String(r.headers['set-cookie'] ?? '').split(';')[0] ?? '';

describe.each(DIALECTS)('identity (%s)', (dialect) => {
  let t: TestApp;
  const clock = fakeClock();
  afterEach(async () => {
    await t?.close();
  });

  async function loginFlow(code: (secret: string) => { method: 'totp' | 'recovery'; code: string }) {
    const r = await t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: t.admin.email, password: ADMIN_PASSWORD } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().next).toBe('mfa');
    expect(r.headers['set-cookie']).toBeUndefined();
    const c = code(t.admin.totpSecret);
    return t.request({ method: 'POST', url: '/api/v1/auth/mfa/verify', token: null, body: { mfaToken: r.json().mfaToken, ...c } });
  }

  it('logs in with password + TOTP; a replayed code is refused; a recovery code works once', async () => {
    t = await testApp(dialect, { clock });
    clock.advance(60_000);
    const ok = await loginFlow((s) => ({ method: 'totp', code: totpCode(s, clock.now()) }));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(String(ok.headers['set-cookie'])).toMatch(/^__Host-custos_session=css_[\w-]+; Path=\/; HttpOnly; Secure; SameSite=Strict/);
    const replay = await loginFlow((s) => ({ method: 'totp', code: totpCode(s, clock.now()) }));
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('AUTH_MFA_INVALID');
    const rc = t.admin.recoveryCodes[0] ?? '';
    expect(t.admin.recoveryCodes).toHaveLength(10);
    expect((await loginFlow(() => ({ method: 'recovery', code: rc }))).statusCode).toBe(200);
    expect((await loginFlow(() => ({ method: 'recovery', code: rc }))).json().code).toBe('AUTH_MFA_INVALID');
    const events = await outboxEvents(t.custos);
    const actions = events.map((e) => e.custos.action);
    expect(actions).toContain('auth.login');
    expect(actions).toContain('auth.mfa');
    const text = JSON.stringify(events);
    expect(text).not.toContain(t.admin.email);
    expect(text).not.toContain(rc);
    expect(text).not.toContain(ADMIN_PASSWORD);
  });

  it('wrong password and unknown account get the same answer', async () => {
    t = await testApp(dialect, { clock });
    const wrong = await t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: t.admin.email, password: 'not the password at all' } });
    const unknown = await t.request({ method: 'POST', url: '/api/v1/auth/login', token: null, body: { email: 'nobody@example.test', password: 'not the password at all' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().code).toBe(unknown.json().code);
    expect(wrong.json().detail).toBe(unknown.json().detail);
  });

  it('refuses weak, common, short and personal passwords with the reason', async () => {
    t = await testApp(dialect, { clock });
    const invite = async () => (await t.request({ method: 'POST', url: '/api/v1/invitations', body: { email: 'bob.builder@example.test', roles: ['support'] } })).json().token as string;
    const token = await invite();
    const cases: Array<[string, string]> = [
      ['short1', 'too_short'],
      ['password1234', 'common'],
      ['aaaaaaaaaaaaaaaa', 'weak'],
      ['bob.builder-bob.builder', 'personal'],
    ];
    for (const [password, reason] of cases) {
      const r = await t.request({ method: 'POST', url: '/api/v1/invitations/accept', token: null, body: { token, email: 'bob.builder@example.test', name: 'Bob Builder', password } });
      expect(r.statusCode, password).toBe(422);
      expect(r.json().code, password).toBe(`PASSWORD_${reason.toUpperCase()}`);
    }
    const ok = await t.request({ method: 'POST', url: '/api/v1/invitations/accept', token: null, body: { token, email: 'bob.builder@example.test', name: 'Bob Builder', password: 'tangerine orbit quietly 7 lamps' } });
    expect(ok.statusCode, ok.body).toBe(201);
    const again = await t.request({ method: 'POST', url: '/api/v1/invitations/accept', token: null, body: { token, email: 'bob.builder@example.test', name: 'Bob Builder', password: 'tangerine orbit quietly 7 lamps' } });
    expect(again.json().code).toBe('INVITATION_INVALID');
  });

  it('sessions expire when idle and at their absolute limit', async () => {
    t = await testApp(dialect, { clock });
    const get = () => t.request({ method: 'GET', url: '/api/v1/auth/sessions' });
    expect((await get()).statusCode).toBe(200);
    clock.advance(31 * 60_000);
    expect((await get()).json().code).toBe('AUTH_SESSION_INVALID');
    await t.close();
    t = await testApp(dialect, { clock });
    for (let i = 0; i < 12 * 3; i++) {
      clock.advance(20 * 60_000);
      const r = await get();
      if (i < 12 * 3 - 1) expect(r.statusCode, `after ${(i + 1) * 20} min`).toBe(200);
      else expect(r.json().code).toBe('AUTH_SESSION_INVALID');
    }
  });

  it('a cookie-authenticated change without the CSRF token is refused; with it, allowed', async () => {
    t = await testApp(dialect, { clock });
    const ok = await loginFlow((s) => ({ method: 'totp', code: totpCode(s, clock.now(), 1) }));
    const cookie = cookieOf(ok);
    const body = JSON.stringify({ slug: 'csrf-check', name: 'x' });
    const send = (headers: Record<string, string>) =>
      t.custos.app.inject({ method: 'POST', url: '/api/v1/tenants', headers: { cookie, 'content-type': 'application/json', ...headers }, payload: body });
    expect((await send({})).json().code).toBe('AUTH_CSRF_FAILED');
    expect((await send({ 'x-csrf-token': 'forged' })).json().code).toBe('AUTH_CSRF_FAILED');
    expect((await send({ 'x-csrf-token': ok.json().csrfToken, origin: 'https://evil.example' })).json().code).toBe('AUTH_CSRF_FAILED');
    expect((await send({ 'x-csrf-token': ok.json().csrfToken })).statusCode).toBe(201);
    const read = await t.custos.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: { cookie } });
    expect(read.statusCode).toBe(200);
  });

  it('step-up: a sensitive action needs a recent second factor', async () => {
    t = await testApp(dialect, { clock });
    const invite = () => t.request({ method: 'POST', url: '/api/v1/invitations', body: { email: 'eve@example.test', roles: ['auditor'] } });
    expect((await invite()).statusCode).toBe(201);
    clock.advance(11 * 60_000);
    await t.request({ method: 'GET', url: '/api/v1/auth/sessions' });
    expect((await invite()).json().code).toBe('AUTH_STEP_UP_REQUIRED');
    const up = await t.request({ method: 'POST', url: '/api/v1/auth/step-up', body: { code: totpCode(t.admin.totpSecret, clock.now()) } });
    expect(up.statusCode, up.body).toBe(204);
    expect((await invite()).statusCode).toBe(201);
  });
});
