import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers/app.js';

describe('route declarations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp('sqlite');
  });
  afterAll(async () => {
    await t.close();
  });

  it('every API route declares its permission or says it is public', () => {
    const api = t.custos.app.routeTable.filter((r) => r.url.startsWith('/api/v1/'));
    expect(api.length).toBeGreaterThan(0);
    const undeclared = api.filter((r) => !r.config.permission && r.config.auth !== 'public').map((r) => `${r.method} ${r.url}`);
    expect(undeclared, 'routes without a declared permission').toEqual([]);
  });

  it('every tenant-scoped object route names its object parameter (for the cross-tenant tests)', () => {
    const scoped = t.custos.app.routeTable.filter((r) => /^\/api\/v1\/tenants\/:tenantId\/[^/]+\/:[A-Za-z]+/.test(r.url));
    const missing = scoped.filter((r) => !r.config.tenantObjectParam || !r.url.includes(`:${r.config.tenantObjectParam}`));
    expect(missing.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });
});
