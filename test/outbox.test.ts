import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/index.js';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';

/** Wraps db.write so a unit fails after its writes when `shouldFail(result)` says so. */
function faultAfterWrite(shouldFail: (result: unknown) => boolean) {
  return (db: Db): Db => ({
    ...db,
    adapter: db.adapter,
    stats: db.stats,
    location: db.location,
    write: (fn) =>
      db.write(async (tx) => {
        const result = await fn(tx);
        if (shouldFail(result)) throw new Error('injected fault after the write');
        return result;
      }),
  });
}

const isDoomed = (r: unknown) => typeof r === 'object' && r !== null && String((r as { slug?: string }).slug).endsWith('-doomed');

describe.each(DIALECTS)('transactional outbox on %s', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('a mutation that fails after its write leaves neither the change nor an event', async () => {
    t = await testApp(dialect, { wrapDb: faultAfterWrite(isDoomed) });
    const before = await outboxEvents(t.custos);
    const slug = `${uniqueSlug()}-doomed`;
    const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug, name: 'Doomed' } });
    expect(r.statusCode).toBe(500);
    expect(r.json().code).toBe('INTERNAL');
    expect(JSON.stringify(r.json())).not.toMatch(/injected|stack|at /);
    const list = (await t.request({ method: 'GET', url: '/api/v1/tenants?limit=200' })).json();
    expect(list.items.find((x: { slug: string }) => x.slug === slug)).toBeUndefined();
    expect(await outboxEvents(t.custos)).toEqual(before);

    const ok = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug(), name: 'Fine' } });
    expect(ok.statusCode).toBe(201);
    const events = (await outboxEvents(t.custos)).filter((e) => e.tenant_uid === ok.json().id);
    expect(events).toHaveLength(1);
  });

  it('group commit: 200 concurrent creates, every tenth failing, commit exactly the other 180 with one event each', async () => {
    t = await testApp(dialect, { wrapDb: faultAfterWrite(isDoomed) });
    const slugs = Array.from({ length: 200 }, (_, i) => `${uniqueSlug('g')}${i % 10 === 9 ? '-doomed' : ''}`);
    const responses = await Promise.all(
      slugs.map((slug) => t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug, name: slug } })),
    );
    const ok = responses.filter((r) => r.statusCode === 201).map((r) => r.json());
    expect(ok).toHaveLength(180);
    expect(responses.filter((r) => r.statusCode === 500)).toHaveLength(20);

    const stored = (await t.request({ method: 'GET', url: '/api/v1/tenants?limit=200' })).json().items as Array<{ id: string; slug: string }>;
    const storedGroup = stored.filter((x) => slugs.includes(x.slug));
    expect(storedGroup.map((x) => x.slug).sort()).toEqual(slugs.filter((s) => !s.endsWith('-doomed')).sort());

    const creates = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'tenant.create');
    const perTenant = new Map<string, number>();
    for (const e of creates) perTenant.set(String(e.tenant_uid), (perTenant.get(String(e.tenant_uid)) ?? 0) + 1);
    for (const x of storedGroup) expect(perTenant.get(x.id)).toBe(1);
    expect(creates.length).toBe(storedGroup.length);
    if (dialect === 'sqlite') {
      // The point of group commit: far fewer COMMITs (fsyncs) than units.
      expect(t.custos.db.stats.batches).toBeLessThan(t.custos.db.stats.units);
    }
  });

  it('refuses an audit event over 64 KiB instead of truncating it', async () => {
    t = await testApp(dialect);
    const { systemContext } = await import('../src/shared/context.js');
    const big = 'x'.repeat(70 * 1024);
    await expect(
      t.custos.db.write((tx) =>
        t.custos.audit.record(tx, systemContext('test'), {
          classUid: 6003,
          activityId: 99,
          action: 'test.big',
          kind: 'system',
          outcome: 'success',
          details: { big },
        }),
      ),
    ).rejects.toMatchObject({ code: 'AUDIT_EVENT_TOO_LARGE' });
    expect((await outboxEvents(t.custos)).some((e) => e.custos.action === 'test.big')).toBe(false);
  });

  it('refuses a nested db.write instead of deadlocking', async () => {
    t = await testApp(dialect);
    await expect(t.custos.db.write(async () => t.custos.db.write(async () => 1))).rejects.toMatchObject({ code: 'DB_NESTED_WRITE' });
  });
});
