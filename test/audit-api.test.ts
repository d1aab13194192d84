import { afterEach, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  leafHash,
  openCheckpoint,
  parseVerifierKey,
  verifyConsistency,
  verifyInclusion,
} from '../src/audit/log/index.js';
import type { RequestContext } from '../src/shared/context.js';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';
import { createPerson } from './helpers/identity.js';

type Entry = { index: number; tenantId: string | null; actor: { type: string; id: string }; classUid: number; outcome: string; target: { type: string; id: string } | null; recordedAt: string; leafHash: string; event: Record<string, unknown>; action: string };

const b = (s: string) => Buffer.from(s, 'base64');
const userCtx = (id: string): RequestContext => ({ actor: { type: 'user', id, platformRoles: [] }, requestId: `req-${id}`, sourceIp: '192.0.2.1' });

async function json(t: TestApp, url: string, token?: string | null) {
  const r = await t.request({ method: 'GET', url, ...(token === undefined ? {} : { token }) });
  return { status: r.statusCode, body: r.json() };
}

async function allPages(t: TestApp, query: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let cursor: string | null = null, guard = 0; guard < 100; guard++) {
    const r = await json(t, `/api/v1/audit/entries?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...r.body.items);
    cursor = r.body.nextCursor;
    if (!cursor) break;
  }
  return out;
}

describe.each(DIALECTS)('audit reading API on %s', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  async function seed() {
    t = await testApp(dialect, { auditSequencer: false });
    const tenants: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('audit'), name: `T${i}` } });
      tenants.push(r.json().id);
    }
    for (let i = 0; i < 5; i++) {
      await t.custos.audit.recordAlone(userCtx(`user-${i % 2}`), {
        classUid: i % 2 ? 3002 : 6003,
        activityId: 1,
        action: 'test.api',
        kind: i % 2 ? 'auth' : 'access',
        outcome: i === 3 ? 'failure' : 'success',
        tenantId: tenants[i % 2],
        target: { type: 'record', id: `rec-${i}` },
      });
    }
    await t.custos.auditLog.sequencer!.tick({ checkpoint: true });
    return tenants;
  }

  it('lists entries with every filter and cursor pagination both ways; each read leaves one audit.read event', async () => {
    const tenants = await seed();
    const all = await allPages(t, 'order=asc&limit=2');
    expect(all.map((e) => e.index)).toEqual(all.map((_, i) => i));
    const desc = await allPages(t, 'order=desc&limit=3');
    expect(desc.map((e) => e.index)).toEqual([...all.map((e) => e.index)].reverse().slice(0, desc.length));
    const byTenant = await allPages(t, `tenant=${tenants[1]}&limit=200`);
    expect(byTenant.length).toBeGreaterThan(0);
    expect(byTenant.every((e) => e.tenantId === tenants[1])).toBe(true);
    expect((await allPages(t, 'actor=user-1&limit=200')).map((e) => e.target?.id).sort()).toEqual(['rec-1', 'rec-3']);
    expect((await allPages(t, 'class=3002&limit=200')).every((e) => e.classUid === 3002)).toBe(true);
    expect((await allPages(t, 'outcome=failure&limit=200')).map((e) => e.target?.id)).toEqual(['rec-3']);
    expect((await allPages(t, 'target=rec-4&targetType=record&limit=200')).length).toBe(1);
    const mid = all[Math.floor(all.length / 2)]!.recordedAt;
    const later = await allPages(t, `from=${encodeURIComponent(mid)}&limit=200`);
    expect(later.every((e) => e.recordedAt >= mid)).toBe(true);
    const earlier = await allPages(t, `to=${encodeURIComponent(mid)}&limit=200`);
    expect(earlier.length + later.length).toBeGreaterThanOrEqual(all.length - 1);

    const first = await json(t, '/api/v1/audit/entries?order=asc&limit=1');
    const wrongOrder = await json(t, `/api/v1/audit/entries?order=desc&limit=1&cursor=${first.body.nextCursor}`);
    expect(wrongOrder).toMatchObject({ status: 400, body: { code: 'PAGINATION_CURSOR_INVALID' } });
    const reversed = await json(t, `/api/v1/audit/entries?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z`);
    expect(reversed).toMatchObject({ status: 400, body: { code: 'AUDIT_QUERY_INVALID' } });

    const reads = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'audit.read');
    const last = reads[reads.length - 1] as unknown as { unmapped: { filters: Record<string, unknown>; returned: number }; resources: Array<{ uid: string }> };
    expect(last.resources[0]!.uid).toBe('entries');
    expect(last.unmapped.filters).toMatchObject({ order: 'asc', limit: 1 });
    expect(last.unmapped.returned).toBe(1);
    // Successful 200 reads, each audited once (the refused ones above are not reads).
    expect(reads.length).toBeGreaterThanOrEqual(12);
  });

  it('serves a signed checkpoint and proofs that verify with the core functions', async () => {
    await seed();
    const cp1 = await json(t, '/api/v1/audit/checkpoint');
    expect(cp1.status).toBe(200);
    const verifier = parseVerifierKey(cp1.body.verifierKey);
    const head1 = openCheckpoint(cp1.body.note, [verifier], t.custos.config.deploymentName);
    expect(head1.size).toBe(cp1.body.size);
    expect(head1.root.equals(b(cp1.body.root))).toBe(true);

    const entries = await allPages(t, 'order=asc&limit=200');
    for (const e of entries.filter((x) => x.index < head1.size)) {
      const leaf = leafHash(Buffer.from(canonicalJson(e.event)));
      expect(leaf.equals(b(e.leafHash))).toBe(true);
      const p = await json(t, `/api/v1/audit/proofs/inclusion?index=${e.index}`);
      expect(p.status).toBe(200);
      const proof = (p.body.proof as string[]).map(b);
      expect(verifyInclusion(leaf, e.index, head1.size, proof, head1.root), `index ${e.index}`).toBe(true);
      if (proof.length > 0) {
        proof[0]![0] = proof[0]![0]! ^ 1;
        expect(verifyInclusion(leaf, e.index, head1.size, proof, head1.root)).toBe(false);
      }
    }

    await t.custos.audit.recordAlone(userCtx('later'), { classUid: 6003, activityId: 1, action: 'test.later', kind: 'access', outcome: 'success' });
    await t.custos.auditLog.sequencer!.tick({ checkpoint: true });
    const cp2 = await json(t, '/api/v1/audit/checkpoint');
    const head2 = openCheckpoint(cp2.body.note, [verifier], t.custos.config.deploymentName);
    expect(head2.size).toBeGreaterThan(head1.size);
    const c = await json(t, `/api/v1/audit/proofs/consistency?from=${head1.size}&to=${head2.size}`);
    expect(c.status).toBe(200);
    expect(c.body.fromCheckpoint).toBe(cp1.body.note);
    expect(verifyConsistency(head1.size, head2.size, (c.body.proof as string[]).map(b), head1.root, head2.root)).toBe(true);
    expect(verifyConsistency(head1.size, head2.size, (c.body.proof as string[]).map(b), head2.root, head1.root)).toBe(false);

    expect(await json(t, `/api/v1/audit/proofs/inclusion?index=${head2.size}&size=${head2.size}`)).toMatchObject({ status: 400, body: { code: 'AUDIT_PROOF_RANGE_INVALID' } });
    expect(await json(t, `/api/v1/audit/proofs/consistency?from=1&to=${head2.size + 1000}`)).toMatchObject({ status: 400, body: { code: 'AUDIT_QUERY_INVALID' } });
  });

  it('only audit readers may read; a refusal leaves a security event; there is no route that writes', async () => {
    const tenants = await seed();
    const auditor = await createPerson(t.custos, { email: 'auditor@example.test', roles: ['auditor'] });
    const analyst = await createPerson(t.custos, { email: 'analyst@example.test', roles: ['security_analyst'] });
    const support = await createPerson(t.custos, { email: 'support@example.test', roles: ['support'] });
    const owner = await createPerson(t.custos, { email: 'owner@example.test', roles: ['owner'], tenantId: tenants[0] });
    for (const who of [auditor, analyst]) {
      expect((await json(t, '/api/v1/audit/entries?limit=1', who.token)).status).toBe(200);
      expect((await json(t, '/api/v1/audit/checkpoint', who.token)).status).toBe(200);
    }
    expect(await json(t, '/api/v1/audit/entries?limit=1', support.token)).toMatchObject({ status: 403, body: { code: 'ACCESS_DENIED' } });
    expect(await json(t, '/api/v1/audit/proofs/inclusion?index=0', support.token)).toMatchObject({ status: 403 });
    expect((await json(t, '/api/v1/audit/entries?limit=1', null)).status).toBe(401);
    // A tenant owner holds no audit:read yet; for another tenant the answer is 404 (no existence leak).
    expect((await json(t, `/api/v1/audit/entries?tenant=${tenants[0]}`, owner.token)).status).toBe(403);
    expect((await json(t, `/api/v1/audit/entries?tenant=${tenants[1]}`, owner.token)).status).toBe(404);
    const denied = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'audit.read_denied');
    expect(denied.length).toBeGreaterThanOrEqual(2);
    expect(denied.every((e) => e.custos.kind === 'security')).toBe(true);

    const routes = t.custos.app.routeTable.filter((r) => r.url.startsWith('/api/v1/audit'));
    expect(routes.length).toBe(4);
    expect(routes.every((r) => r.method === 'GET' && r.config.permission === 'audit:read')).toBe(true);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const r = await t.request({ method, url: '/api/v1/audit/entries', body: {} });
      expect(r.statusCode, method).toBe(404);
    }
  });

  it('an entry is in the log within 1 s of its commit, and under a signed checkpoint soon after', async () => {
    t = await testApp(dialect);
    const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('fast'), name: 'Fast' } });
    const committed = performance.now();
    const id = r.json().id as string;
    const find = () => t.custos.db.read((tx) => tx.selectFrom('audit_entries').select('idx').where('target_id', '=', id).executeTakeFirst());
    let row = await find();
    while (!row && performance.now() - committed < 3000) {
      await new Promise((res) => setTimeout(res, 10));
      row = await find();
    }
    const sequencedMs = performance.now() - committed;
    expect(row, 'entry sequenced').toBeDefined();
    expect(sequencedMs).toBeLessThan(1000);
    let size = 0;
    while (size <= Number(row!.idx) && performance.now() - committed < 3000) {
      await new Promise((res) => setTimeout(res, 20));
      size = Number((await t.custos.db.read((tx) => tx.selectFrom('audit_checkpoints').select('size').orderBy('size', 'desc').executeTakeFirst()))?.size ?? 0);
    }
    expect(performance.now() - committed).toBeLessThan(1500);
  });
});
