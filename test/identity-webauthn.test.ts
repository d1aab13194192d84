import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { ADMIN_PASSWORD, fakeClock } from './helpers/identity.js';
import { SoftAuthenticator } from './helpers/webauthn.js';

describe.each(DIALECTS)('passkeys (%s)', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });
  const post = (url: string, body: unknown, token?: string | null) => t.request({ method: 'POST', url, body, token });
  const login = async (email: string) => {
    const r = await post('/api/v1/auth/login', { email, password: ADMIN_PASSWORD }, null);
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as { next: string; mfaToken: string };
  };
  const passkeyLogin = async (email: string, device: SoftAuthenticator, opts: { bump?: boolean } = {}) => {
    const { mfaToken } = await login(email);
    const options = await post('/api/v1/auth/mfa/webauthn/options', { mfaToken }, null);
    expect(options.statusCode, options.body).toBe(200);
    return post('/api/v1/auth/mfa/webauthn/verify', { mfaToken, response: device.assert(options.json(), opts) }, null);
  };

  it('logs in with password + passkey; a replayed assertion and a counter that goes back are refused', async () => {
    t = await testApp(dialect, { clock: fakeClock() });
    const device = new SoftAuthenticator();
    const options = await post('/api/v1/auth/mfa/webauthn/register/options', {});
    expect(options.statusCode, options.body).toBe(200);
    expect(options.json()).toMatchObject({ rp: { id: 'localhost' }, attestation: 'none' });
    const registered = await post('/api/v1/auth/mfa/webauthn/register/verify', { response: device.register(options.json()) });
    expect(registered.statusCode, registered.body).toBe(200);
    expect(registered.json().passkey.id).toBe(device.id);
    expect(registered.json().recoveryCodes, 'TOTP was the first factor').toBeUndefined();
    const again = await post('/api/v1/auth/mfa/webauthn/register/verify', { response: device.register(options.json()) });
    expect(again.json().code, 'a challenge is used once').toBe('MFA_CHALLENGE_INVALID');

    const ok = await passkeyLogin(t.admin.email, device);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(String(ok.headers['set-cookie'])).toMatch(/^__Host-custos_session=css_/);

    // Replay: the same signed assertion against a new login's challenge.
    const { mfaToken } = await login(t.admin.email);
    await post('/api/v1/auth/mfa/webauthn/options', { mfaToken }, null);
    const stale = device.assert({ challenge: 'not-the-challenge' });
    expect((await post('/api/v1/auth/mfa/webauthn/verify', { mfaToken, response: stale }, null)).json().code).toBe('AUTH_MFA_INVALID');

    device.counter = 0;
    const cloned = await passkeyLogin(t.admin.email, device);
    expect(cloned.json().code, 'counter regression').toBe('AUTH_MFA_INVALID');
    const listed = await t.request({ method: 'GET', url: '/api/v1/auth/mfa/webauthn/credentials' });
    expect(listed.json().items).toHaveLength(1);
    const actions = (await outboxEvents(t.custos)).map((e) => e.custos.action);
    expect(actions).toEqual(expect.arrayContaining(['mfa.webauthn.register', 'auth.mfa', 'auth.webauthn.counter_regression']));
  });

  it('a first login enrols a passkey as its factor; a password-only login cannot add a factor to skip it', async () => {
    t = await testApp(dialect, { clock: fakeClock() });
    const email = 'pia.passkey@example.test';
    const invite = await post('/api/v1/invitations', { email, roles: ['auditor'] });
    await post('/api/v1/invitations/accept', { token: invite.json().token, email, name: 'Pia Passkey', password: ADMIN_PASSWORD }, null);
    const first = await login(email);
    expect(first.next).toBe('enrol_mfa');
    const device = new SoftAuthenticator();
    const options = await post('/api/v1/auth/mfa/webauthn/register/options', { mfaToken: first.mfaToken }, null);
    const wrongOrigin = await post('/api/v1/auth/mfa/webauthn/register/verify', { mfaToken: first.mfaToken, response: device.register(options.json(), { origin: 'https://evil.example' }) }, null);
    expect(wrongOrigin.json().code).toBe('MFA_PASSKEY_REJECTED');
    const options2 = await post('/api/v1/auth/mfa/webauthn/register/options', { mfaToken: first.mfaToken }, null);
    const enrolled = await post('/api/v1/auth/mfa/webauthn/register/verify', { mfaToken: first.mfaToken, response: device.register(options2.json()) }, null);
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    expect(enrolled.json().recoveryCodes).toHaveLength(10);
    expect(enrolled.json().next).toBe('none');

    const second = await login(email);
    expect(second.next).toBe('mfa');
    expect((await post('/api/v1/auth/mfa/totp/enrol', { mfaToken: second.mfaToken }, null)).json().code).toBe('MFA_ALREADY_ENROLLED');
    expect((await post('/api/v1/auth/mfa/webauthn/register/options', { mfaToken: second.mfaToken }, null)).json().code).toBe('MFA_ALREADY_ENROLLED');
    expect((await passkeyLogin(email, device)).statusCode).toBe(200);
  });
});
