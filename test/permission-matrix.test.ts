import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ROLES, PLATFORM_ROLES, TENANT_ROLES, isPermission, isTenantPermission, renderPermissionsDoc } from '../src/access/index.js';
import { DIALECTS, testApp, type TestApp } from './helpers/app.js';
import { createPerson, fakeClock } from './helpers/identity.js';

/**
 * Every API route × every built-in role and an API key × own and other
 * tenant: the expected answer is computed from the catalogue
 * (src/access/permissions.ts) and checked by a real request.
 */
type Outcome = 'allow' | 'deny' | 'hidden';
interface Caller {
  name: string;
  token: string;
  kind: 'platform' | 'tenant' | 'api_key';
  permissions: readonly string[];
}

const DOC = new URL('../docs/permissions.md', import.meta.url);
const ghost = randomUUID();
const API_KEY_SCOPE = ['integrations:read', 'integrations:use', 'members:read', 'records:read'];
const VAULT_SCHEMA = {
  subjectField: 'email',
  retentionDays: 30,
  fields: { email: { type: 'email', personal: true, category: 'user.contact.email', required: true, purposes: ['support'] } },
};

/** A request per route that passes schema validation; objects are unknown ids (an allowed caller gets the module's own 404). */
const FIXTURES: Record<string, (tenantId: string, caller: Caller) => { url?: string; body?: unknown }> = {
  'POST /api/v1/tenants': () => ({ body: { slug: `m-${randomUUID().slice(0, 8)}`, name: 'Matrix' } }),
  'GET /api/v1/tenants': () => ({}),
  'GET /api/v1/tenants/:tenantId': () => ({}),
  'PATCH /api/v1/tenants/:tenantId': () => ({ body: { name: 'Renamed' } }),
  'GET /api/v1/audit/entries': () => ({ url: '/api/v1/audit/entries?limit=1' }),
  'GET /api/v1/audit/checkpoint': () => ({}),
  'GET /api/v1/audit/proofs/inclusion': () => ({ url: '/api/v1/audit/proofs/inclusion?index=0' }),
  'GET /api/v1/audit/proofs/consistency': () => ({ url: '/api/v1/audit/proofs/consistency?from=1' }),
  'POST /api/v1/invitations': (t, c) => ({ body: { email: `m-${randomUUID().slice(0, 8)}@example.test`, ...(c.kind === 'platform' ? { roles: ['auditor'] } : { roles: ['viewer'], tenantId: t }) } }),
  'GET /api/v1/accounts/:accountId': () => ({ url: `/api/v1/accounts/${ghost}` }),
  'POST /api/v1/accounts/:accountId/deactivate': () => ({ url: `/api/v1/accounts/${ghost}/deactivate` }),
  'POST /api/v1/tenants/:tenantId/api-keys': () => ({ body: { name: 'matrix', permissions: ['records:read'], purposes: [] } }),
  'GET /api/v1/tenants/:tenantId/api-keys': () => ({}),
  'POST /api/v1/tenants/:tenantId/api-keys/:keyId/rotate': (t) => ({ url: `/api/v1/tenants/${t}/api-keys/${ghost}/rotate` }),
  'DELETE /api/v1/tenants/:tenantId/api-keys/:keyId': (t) => ({ url: `/api/v1/tenants/${t}/api-keys/${ghost}` }),
  'POST /api/v1/tenants/:tenantId/keys/destroy': () => ({ body: { scope: 'subject', subjectId: ghost, reason: 'matrix' } }),
  'GET /api/v1/tenants/:tenantId/keys': () => ({}),
  'GET /api/v1/keys/erasure-ledger': () => ({}),
  'POST /api/v1/tenants/:tenantId/integrations': () => ({ body: { kind: 'webhook', name: 'hook', provider: 'matrix', secret: 'whsec-0123456789' } }),
  'GET /api/v1/tenants/:tenantId/integrations': () => ({}),
  'GET /api/v1/tenants/:tenantId/integrations/:integrationId': (t) => ({ url: `/api/v1/tenants/${t}/integrations/${ghost}` }),
  'DELETE /api/v1/tenants/:tenantId/integrations/:integrationId': (t) => ({ url: `/api/v1/tenants/${t}/integrations/${ghost}` }),
  'POST /api/v1/tenants/:tenantId/integrations/:integrationId/sign': (t) => ({ url: `/api/v1/tenants/${t}/integrations/${ghost}/sign`, body: { payload: 'x' } }),
  'POST /api/v1/tenants/:tenantId/collections': () => ({ body: { name: `m_${randomUUID().slice(0, 8)}`, ...VAULT_SCHEMA } }),
  'GET /api/v1/tenants/:tenantId/collections': () => ({}),
  'GET /api/v1/tenants/:tenantId/collections/:name': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost` }),
  'GET /api/v1/tenants/:tenantId/collections/:name/versions': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/versions` }),
  'PUT /api/v1/tenants/:tenantId/collections/:name': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost`, body: VAULT_SCHEMA }),
  'DELETE /api/v1/tenants/:tenantId/collections/:name': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost` }),
  'POST /api/v1/tenants/:tenantId/collections/:name/records': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records`, body: { fields: {} } }),
  'GET /api/v1/tenants/:tenantId/collections/:name/records': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records` }),
  'POST /api/v1/tenants/:tenantId/collections/:name/records/search': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/search`, body: { where: { email: 'x@example.org' } } }),
  'GET /api/v1/tenants/:tenantId/collections/:name/records/:recordId': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/${ghost}` }),
  'PATCH /api/v1/tenants/:tenantId/collections/:name/records/:recordId': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/${ghost}`, body: { fields: {} } }),
  'DELETE /api/v1/tenants/:tenantId/collections/:name/records/:recordId': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/${ghost}` }),
  'GET /api/v1/tenants/:tenantId/collections/:name/records/:recordId/duplicates': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/${ghost}/duplicates` }),
  'PUT /api/v1/tenants/:tenantId/collections/:name/records/:recordId/files/:field': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/${ghost}/files/scan`, body: {} }),
  'GET /api/v1/tenants/:tenantId/collections/:name/records/:recordId/files/:field': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/${ghost}/files/scan` }),
  'DELETE /api/v1/tenants/:tenantId/collections/:name/records/:recordId/files/:field': (t) => ({ url: `/api/v1/tenants/${t}/collections/ghost/records/${ghost}/files/scan` }),
  'GET /api/v1/tenants/:tenantId/subjects/:subjectId': (t) => ({ url: `/api/v1/tenants/${t}/subjects/${ghost}` }),
  'POST /api/v1/access-requests/:requestId/approve': () => ({ url: `/api/v1/access-requests/${ghost}/approve` }),
  'POST /api/v1/access-requests/:requestId/deny': () => ({ url: `/api/v1/access-requests/${ghost}/deny` }),
  'POST /api/v1/access-requests/:requestId/revoke': () => ({ url: `/api/v1/access-requests/${ghost}/revoke` }),
  'POST /api/v1/events': () => ({ body: [{ class_uid: 4001, activity_id: 6, time: Date.now(), metadata: { product: { name: 'matrix' } } }] }),
  'GET /api/v1/siem/alerts': () => ({}),
  'GET /api/v1/siem/alerts/:alertId': () => ({ url: `/api/v1/siem/alerts/${ghost}` }),
  'PATCH /api/v1/siem/alerts/:alertId': () => ({ url: `/api/v1/siem/alerts/${ghost}`, body: { state: 'acknowledged' } }),
  'POST /api/v1/siem/alerts/:alertId/notes': () => ({ url: `/api/v1/siem/alerts/${ghost}/notes`, body: { body: 'matrix' } }),
  'POST /api/v1/siem/alerts/:alertId/responses/:responseId/revert': () => ({ url: `/api/v1/siem/alerts/${ghost}/responses/${ghost}/revert` }),
  'GET /api/v1/siem/rules': () => ({}),
  'PATCH /api/v1/siem/rules/:ruleId': () => ({ url: '/api/v1/siem/rules/matrix-no-such-rule', body: { enabled: false } }),
};

/** What the catalogue says, independently of src/access/access.ts. */
function expected(caller: Caller, route: { permission?: string | undefined; tenantPermission?: string | undefined }, tenant: 'own' | 'other' | null): Outcome {
  const permission = route.permission ?? '';
  const holds = caller.permissions.includes(permission);
  if (caller.kind === 'platform') return holds ? 'allow' : 'deny';
  if (tenant === null) return route.tenantPermission && caller.permissions.includes(route.tenantPermission) ? 'allow' : 'deny';
  if (tenant === 'other') return 'hidden';
  return holds && isTenantPermission(permission) ? 'allow' : 'deny';
}

/** Past the permission check is `allow` (whatever follows: 2xx, the module's own 404, step-up, 409, 422). */
function observed(status: number, body: { code?: string; detail?: string }): Outcome | 'unauthenticated' {
  if (status === 401) return 'unauthenticated';
  if (status === 403 && body.code === 'ACCESS_DENIED') return 'deny';
  if (status === 404 && body.code === 'NOT_FOUND' && body.detail === 'not found') return 'hidden';
  return 'allow';
}

describe('route declarations', () => {
  it.each(DIALECTS)('every API route declares a catalogue permission, self or public, and docs/permissions.md is current (%s)', async (dialect) => {
    const t = await testApp(dialect);
    try {
      const api = t.custos.app.routeTable.filter((r) => r.url.startsWith('/api/v1/'));
      const bad = api.filter((r) => !(r.config.auth === 'public' || r.config.permission === 'self' || (r.config.permission && isPermission(r.config.permission))));
      expect(bad.map((r) => `${r.method} ${r.url}`), 'routes without a declared permission').toEqual([]);
      const text = renderPermissionsDoc(api.map((r) => ({ method: r.method, url: r.url, permission: r.config.permission, tenantPermission: r.config.tenantPermission, auth: r.config.auth })));
      if (process.env.CUSTOS_WRITE_DOCS) writeFileSync(DOC, text);
      expect(readFileSync(DOC, 'utf8') === text, 'docs/permissions.md is stale: run `npm run docs:permissions`').toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe.each(DIALECTS)('permission matrix (%s)', (dialect) => {
  let t: TestApp;
  const clock = fakeClock();
  const callers: Caller[] = [];
  let own = '';
  let other = '';

  beforeAll(async () => {
    t = await testApp(dialect, { clock });
    const tenant = async (slug: string) => (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: `${slug}-${dialect}`, name: slug } })).json().id as string;
    own = await tenant('own');
    other = await tenant('other');
    for (const role of PLATFORM_ROLES) {
      const p = await createPerson(t.custos, { email: `p-${role}@example.test`, roles: [role], now: clock.now });
      callers.push({ name: role, token: p.token, kind: 'platform', permissions: BUILTIN_ROLES[role]?.permissions ?? [] });
    }
    for (const role of TENANT_ROLES) {
      const p = await createPerson(t.custos, { email: `t-${role}@example.test`, roles: [role], tenantId: own, now: clock.now });
      callers.push({ name: `tenant ${role}`, token: p.token, kind: 'tenant', permissions: BUILTIN_ROLES[role]?.permissions ?? [] });
    }
    const key = await t.request({ method: 'POST', url: `/api/v1/tenants/${own}/api-keys`, body: { name: 'matrix', permissions: API_KEY_SCOPE, purposes: [] } });
    callers.push({ name: 'api key', token: key.json().token as string, kind: 'api_key', permissions: API_KEY_SCOPE });
    // Past the step-up window: sensitive routes stop at AUTH_STEP_UP_REQUIRED (after the permission check) and change nothing.
    clock.advance(11 * 60_000);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('answers every route × caller × tenant as the catalogue says', async () => {
    const routes = t.custos.app.routeTable.filter((r) => r.url.startsWith('/api/v1/') && r.config.permission && isPermission(r.config.permission));
    expect(routes.filter((r) => !FIXTURES[`${r.method} ${r.url}`]).map((r) => `${r.method} ${r.url}`), 'add a fixture for each new route').toEqual([]);
    const mismatches: string[] = [];
    let checked = 0;
    for (const route of routes) {
      const fixture = FIXTURES[`${route.method} ${route.url}`];
      const tenants = route.url.includes(':tenantId') ? (['own', 'other'] as const) : ([null] as const);
      for (const tenant of tenants) {
        for (const caller of callers) {
          const tenantId = tenant === 'other' ? other : own;
          const f = fixture?.(tenantId, caller) ?? {};
          const url = f.url ?? route.url.replace(':tenantId', tenantId);
          const r = await t.custos.app.inject({
            method: route.method as 'GET',
            url,
            headers: { authorization: `Bearer ${caller.token}`, ...(f.body !== undefined ? { 'content-type': 'application/json' } : {}) },
            ...(f.body !== undefined ? { payload: JSON.stringify(f.body) } : {}),
          });
          const want = expected(caller, route.config, tenant);
          const got = observed(r.statusCode, r.statusCode >= 400 ? (r.json() as { code?: string }) : {});
          checked++;
          if (got !== want) mismatches.push(`${route.method} ${url.replace(tenantId, `<${tenant}>`)} as ${caller.name}: want ${want}, got ${got} (${r.statusCode} ${r.body.slice(0, 120)})`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  }, 120_000);
});
