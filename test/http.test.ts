import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers/app.js';

describe('HTTP surface (sqlite)', () => {
  let t: TestApp;
  const logLines: string[] = [];
  beforeAll(async () => {
    t = await testApp('sqlite', { logLines, overrides: { securityTxt: { contact: ['mailto:security@acme.test'], policy: 'https://acme.test/disclosure' } } });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (payload: string, contentType = 'application/json') =>
    t.custos.app.inject({ method: 'POST', url: '/api/v1/tenants', headers: { authorization: `Bearer ${t.token}`, 'content-type': contentType }, payload });

  it('malformed JSON → 400 problem+json', async () => {
    const r = await post('{"slug": "a",');
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ code: 'BODY_MALFORMED_JSON', status: 400, type: expect.stringContaining('urn:custos:problem:') });
    expect(r.json().requestId).toBe(r.headers['x-request-id']);
  });

  it('wrong types are refused, not coerced', async () => {
    const r = await post(JSON.stringify({ slug: 12345, name: true }));
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('VALIDATION_FAILED');
    expect(r.json().errors[0].path).toMatch(/^body\./);
  });

  it('unknown fields are refused and named', async () => {
    const r = await post(JSON.stringify({ slug: 'unknown-field', name: 'x', plan: 'gold' }));
    expect(r.statusCode).toBe(400);
    expect(r.json().detail).toContain('plan');
  });

  it('a 10 MB body → 413', async () => {
    const r = await post(JSON.stringify({ slug: 'big', name: 'x'.repeat(10 * 1024 * 1024) }));
    expect(r.statusCode).toBe(413);
    expect(r.json().code).toBe('BODY_TOO_LARGE');
  });

  it('a wrong content type → 415', async () => {
    const r = await post('slug=a&name=b', 'application/x-www-form-urlencoded');
    expect(r.statusCode).toBe(415);
    const r2 = await post('hello', 'text/plain');
    expect(r2.statusCode).toBe(415);
  });

  it('prototype pollution attempts → 400', async () => {
    const r = await post('{"slug":"proto","name":"x","__proto__":{"admin":true}}');
    expect(r.statusCode).toBe(400);
  });

  it('a bad id → 400, an unknown route → 404 problem', async () => {
    const r = await t.request({ method: 'GET', url: '/api/v1/tenants/not-a-uuid' });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('VALIDATION_FAILED');
    const nf = await t.request({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json().code).toBe('ROUTE_NOT_FOUND');
  });

  it('sends HSTS, a strict CSP and no-sniff on every answer', async () => {
    for (const url of ['/healthz', '/api/v1/tenants', '/nope']) {
      const r = await t.request({ method: 'GET', url });
      expect(r.headers['strict-transport-security']).toMatch(/max-age=\d{8}/);
      expect(r.headers['content-security-policy']).toContain("default-src 'self'");
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('serves health, readiness, metrics, security.txt and the OpenAPI document', async () => {
    expect((await t.request({ method: 'GET', url: '/healthz', token: null })).json()).toEqual({ status: 'ok' });
    expect((await t.request({ method: 'GET', url: '/readyz', token: null })).json()).toEqual({ status: 'ready' });
    const metrics = await t.request({ method: 'GET', url: '/metrics', token: null });
    expect(metrics.body).toContain('custos_http_requests_total');
    const sec = await t.request({ method: 'GET', url: '/.well-known/security.txt', token: null });
    expect(sec.body).toMatch(/^Contact: mailto:security@acme.test\nExpires: \d{4}-\d\d-\d\dT[\d:.]+Z\nPolicy: https:\/\/acme.test\/disclosure\n$/);
    const api = (await t.request({ method: 'GET', url: '/api/openapi.json', token: null })).json();
    expect(api.openapi).toBe('3.1.0');
    expect(Object.keys(api.paths)).toEqual(expect.arrayContaining(['/api/v1/tenants', '/api/v1/tenants/{tenantId}']));
    const docs = await t.request({ method: 'GET', url: '/api/docs', token: null });
    expect([200, 302]).toContain(docs.statusCode);
  });

  it('logs neither credentials nor request bodies nor query strings', async () => {
    await post(JSON.stringify({ slug: 'log-canary-slug', name: 'Canary-Name-7731' }));
    await t.request({ method: 'GET', url: '/api/v1/tenants?state=active&cursor=Q2FuYXJ5' });
    const all = logLines.join('\n');
    expect(all).not.toContain(t.token);
    expect(all).not.toContain('Canary-Name-7731');
    expect(all).not.toContain('Q2FuYXJ5');
    expect(all).toContain('"route":"/api/v1/tenants"');
  });

  it('property: random bodies, paths and methods never get a 5xx, and the server keeps serving', async () => {
    const paths = ['/api/v1/tenants', '/api/v1/tenants/{id}', '/healthz', '/readyz', '/metrics', '/api/openapi.json', '/x/{id}'];
    const seg = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.constantFrom('..', '%00', '%ff', '{}', "'; drop table tenants;--"));
    const body = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 200 }),
      fc.record({ slug: fc.string(), name: fc.string() }),
      fc.record({ slug: fc.anything(), name: fc.anything(), extra: fc.anything() }).map((o) => JSON.stringify(o)),
      fc.record({ name: fc.option(fc.string()), state: fc.string() }).map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE'),
        fc.constantFrom(...paths),
        seg,
        body,
        fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', 'multipart/form-data'),
        fc.boolean(),
        async (method, p, s, b, ct, auth) => {
          const url = p.replace('{id}', encodeURIComponent(s).slice(0, 180));
          const payload = typeof b === 'string' ? b : JSON.stringify(b);
          const r = await t.custos.app.inject({
            method: method as 'GET',
            url,
            headers: { 'content-type': ct, ...(auth ? { authorization: `Bearer ${t.token}` } : {}) },
            ...(method === 'GET' || method === 'DELETE' ? {} : { payload }),
          });
          expect(r.statusCode, `${method} ${url} → ${r.body.slice(0, 200)}`).toBeLessThan(500);
        },
      ),
      { numRuns: 400 },
    );
    expect((await t.request({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
