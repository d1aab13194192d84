import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemContext, type RequestContext } from '../src/shared/context.js';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';
import { codeOf } from './helpers/keys.js';

/** Every spelling a leak could take: UTF-8, hex, base64, base64url. */
function spellings(s: string): string[] {
  const b = Buffer.from(s, 'utf8');
  return [s, b.toString('hex'), b.toString('base64'), b.toString('base64url')];
}

function expectAbsent(haystack: Buffer | string, canaries: string[], where: string): void {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : haystack;
  for (const c of canaries) for (const form of spellings(c)) expect(text.includes(form), `${c} (as ${form.slice(0, 12)}…) found in ${where}`).toBe(false);
}

async function tenant(t: TestApp): Promise<string> {
  return (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('sec'), name: 'Sec' } })).json().id as string;
}

describe.each(DIALECTS)('integration secrets never at rest in plaintext on %s', (dialect) => {
  let t: TestApp;
  const logLines: string[] = [];
  beforeEach(async () => {
    logLines.length = 0;
    t = await testApp(dialect, { logLines });
  });
  afterEach(async () => {
    await t.close();
  });

  it('canaries in an OAuth token, its refresh token and a webhook secret are absent from the data file, WAL, key store, logs, audit outbox and idempotency records', async () => {
    const tag = randomBytes(8).toString('hex');
    const canaries = [`CANARY-ACCESS-${tag}`, `CANARY-REFRESH-${tag}`, `CANARY-WEBHOOK-${tag}`];
    const tid = await tenant(t);
    const oauth = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tid}/integrations`,
      headers: { 'idempotency-key': `canary-${tag}` },
      body: { kind: 'oauth', name: 'gh', provider: 'github', accessToken: canaries[0], refreshToken: canaries[1], scopes: ['repo'], subjectId: randomUUID() },
    });
    expect(oauth.statusCode, oauth.body).toBe(201);
    const hook = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name: 'hook', provider: 'stripe', secret: canaries[2] } });
    expect(hook.statusCode).toBe(201);
    // Exercise every path that touches them: list, get, sign, server-side use, a bad request echoing nothing.
    await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/integrations` });
    await t.request({ method: 'GET', url: `/api/v1/tenants/${tid}/integrations/${oauth.json().id}` });
    await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations/${hook.json().id}/sign`, body: { payload: 'hello' } });
    await t.custos.integrations.withSecret(systemContext('test'), tid, oauth.json().id, 'probe', (s) =>
      expect(s.accessToken?.toString()).toBe(canaries[0]),
    );
    await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name: 'hook', provider: 'stripe', secret: canaries[2] } }); // 409
    await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name: 'x', provider: 'BAD PROVIDER', secret: canaries[2] } }); // 400

    expectAbsent(JSON.stringify(await outboxEvents(t.custos)), canaries, 'the audit log / outbox');
    expectAbsent(logLines.join('\n'), canaries, 'the logs');
    expect(logLines.length).toBeGreaterThan(0);
    const idem = await t.custos.db.read((tx) => tx.selectFrom('idempotency_keys').select('response').execute());
    expect(idem.length).toBeGreaterThan(0);
    expectAbsent(JSON.stringify(idem), canaries, 'idempotency records');

    if (dialect === 'sqlite') {
      const files = ['custos.db', 'custos.db-wal', 'keystore.db', 'keystore.db-wal'].map((f) => path.join(t.env.dataDir, f));
      expect(existsSync(files[1]!)).toBe(true); // the WAL holds the recent writes while the app runs
      for (const f of files.filter(existsSync)) expectAbsent(readFileSync(f), canaries, f);
      return;
    }
    const url = t.env.config.databaseUrl as string;
    const dump = execFileSync('pg_dump', ['--no-owner', url], { encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
    expect(dump).toContain('custos_keys.key_versions');
    expect(dump).toContain('integrations');
    expectAbsent(dump, canaries, 'pg_dump');
  });
});

describe.each(DIALECTS)('integrations across tenants on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it("every integration route called with the other tenant's object id answers 404 and leaves a security event", async () => {
    const [a, b] = [await tenant(t), await tenant(t)];
    const mk = async (tid: string) =>
      (await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name: 'w', provider: 'p', secret: `secret-of-${tid}` } })).json()
        .id as string;
    const [ia, ib] = [await mk(a), await mk(b)];
    const routes = t.custos.app.printRoutes({ commonPrefix: false });
    expect(routes).toContain(':integrationId');
    const calls = [
      { method: 'GET', url: `/api/v1/tenants/${a}/integrations/${ib}` },
      { method: 'DELETE', url: `/api/v1/tenants/${a}/integrations/${ib}` },
      { method: 'POST', url: `/api/v1/tenants/${a}/integrations/${ib}/sign`, body: { payload: 'x' } },
    ];
    for (const c of calls) {
      const before = (await outboxEvents(t.custos)).length;
      const r = await t.request(c);
      expect(r.statusCode, `${c.method} ${c.url}`).toBe(404);
      expect(r.json().code).toBe('NOT_FOUND');
      expect(r.body).not.toContain(`secret-of-${b}`);
      const fresh = (await outboxEvents(t.custos)).slice(before);
      const probe = fresh.find((e) => e.custos.kind === 'security' && !e.custos.action.startsWith('siem.'));
      expect(probe, `${c.method} ${c.url}`).toMatchObject({ custos: { action: 'tenant.cross_tenant_probe' }, tenant_uid: a, resources: [{ type: 'integration', uid: ib }] });
      expect(fresh.some((e) => e.custos.action === 'integration.secret.use' || e.custos.action === 'integration.delete')).toBe(false);
    }
    // B's integration is untouched and still works in B.
    const ok = await t.request({ method: 'POST', url: `/api/v1/tenants/${b}/integrations/${ib}/sign`, body: { payload: 'x' } });
    expect(ok.statusCode).toBe(200);
    expect(ia).not.toBe(ib);
  });

  it("an API key of tenant A reaches none of tenant B's integrations (404 + security event), not even its list", async () => {
    const [a, b] = [await tenant(t), await tenant(t)];
    const ib = (
      await t.request({ method: 'POST', url: `/api/v1/tenants/${b}/integrations`, body: { kind: 'webhook', name: 'w', provider: 'p', secret: 'b-secret-0123' } })
    ).json().id as string;
    const keyOfA: RequestContext = {
      actor: { type: 'api_key', id: randomUUID(), tenantId: a, permissions: ['integrations:read', 'integrations:write', 'integrations:use'], purposes: [] },
      requestId: 'req-cross',
      sourceIp: '203.0.113.9',
    };
    const svc = t.custos.integrations;
    const attempts = [
      () => svc.get(keyOfA, b, ib),
      () => svc.list(keyOfA, b, { limit: 10 }),
      () => svc.remove(keyOfA, b, ib),
      () => svc.sign(keyOfA, b, ib, 'x'),
      () => svc.withSecret(keyOfA, b, ib, 'steal', () => 'never'),
      () => svc.create(keyOfA, b, { kind: 'webhook', name: 'planted', provider: 'p', secret: 'planted-0123' }),
    ];
    for (const attempt of attempts) expect(await codeOf(attempt())).toBe('NOT_FOUND');
    // The SIEM may also raise its cross-tenant-probing alert (a `siem.*` security event) meanwhile; count the probes themselves.
    const probes = (await outboxEvents(t.custos)).filter((e) => e.custos.kind === 'security' && e.tenant_uid === b && !e.custos.action.startsWith('siem.'));
    expect(probes.length).toBe(attempts.length);
    expect(probes[0]).toMatchObject({ actor: { user: { type: 'api_key' } }, src_endpoint: { ip: '203.0.113.9' } });
    // Its own tenant works.
    expect((await svc.list(keyOfA, a, { limit: 10 })).items).toEqual([]);
  });
});
