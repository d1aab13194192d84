import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGuard } from '../src/access/index.js';
import { createKeyAdmin } from '../src/keys/index.js';
import { SubjectPool } from '../src/keys/pool.js';
import * as store from '../src/keys/store.js';
import { systemContext } from '../src/shared/context.js';
import { isUuid } from '../src/shared/ids.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';
import { codeOf, keysCore, manualClock } from './helpers/keys.js';

const sys = systemContext('test');
const ctx = (tenantId: string, objectId = 'rec-1') => ({ tenantId, purpose: 'people', objectId, field: 'email' });
type Core = Awaited<ReturnType<typeof keysCore>>;

function adminOf(core: Core) {
  return createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) });
}

/** The key store row of a subject's DEK (version 1) and its series. */
async function subjectKey(core: Core, tenantId: string, subjectId: string) {
  return core.db.read(async (tx) => {
    const k = store.keyStore(tx, core.db.adapter.keyStoreSchema);
    const s = { owner: tenantId, purpose: 'subject-dek', ref: subjectId };
    return { series: await store.findSeries(k, s), version: await store.findSeriesVersion(k, s, 1) };
  });
}

async function kekIds(core: Core, tenantId: string): Promise<string[]> {
  const table = sql.table(`${core.db.adapter.keyStoreSchema}.key_versions`);
  const rows = await core.db.read(async (tx) => (await sql<{ id: string }>`select id from ${table} where owner = ${tenantId} and purpose = 'tenant-kek' order by version`.execute(tx)).rows);
  return rows.map((r) => r.id);
}

async function events(core: Core, action: string) {
  const rows = await core.db.read((tx) => tx.selectFrom('audit_outbox').select('event').orderBy('seq').execute());
  return rows
    .map((r) => JSON.parse(r.event) as { custos: { action: string }; tenant_uid: string | null; unmapped: Record<string, unknown> })
    .filter((e) => e.custos.action === action);
}

/** Counts the keyring's key-store units (db.read / db.write) from now on. */
function countIo(core: Core) {
  const db = core.keys.db;
  const reads = vi.spyOn(db, 'read');
  const writes = vi.spyOn(db, 'write');
  return {
    get reads() {
      return reads.mock.calls.length;
    },
    get writes() {
      return writes.mock.calls.length;
    },
    restore() {
      reads.mockRestore();
      writes.mockRestore();
    },
  };
}

describe.each(DIALECTS)('subject key pool on %s', (dialect) => {
  let env: TestEnv;
  let core: Core;
  beforeEach(async () => {
    env = await testEnv(dialect);
    core = await keysCore(env.config);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await core.close();
    await env.cleanup();
  });

  it('hands out distinct fresh ids whose keys exist, are audited per batch, and seal/open with no key-store I/O', async () => {
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 8, lowWater: 2 });
    const first = await pool.allocate(t);
    await vi.waitFor(() => expect(pool.size(t)).toBe(7));
    const io = countIo(core);
    const ids = [first];
    const sealed: Buffer[] = [await core.keys.seal({ tenantId: t, subjectId: first }, Buffer.from('v0'), ctx(t, 'r0'))];
    for (let i = 1; i < 5; i++) {
      const id = await pool.allocate(t);
      ids.push(id);
      sealed.push(await core.keys.seal({ tenantId: t, subjectId: id }, Buffer.from(`v${i}`), ctx(t, `r${i}`)));
    }
    for (let i = 0; i < 5; i++) expect((await core.keys.open(sealed[i]!, ctx(t, `r${i}`))).toString()).toBe(`v${i}`);
    expect({ reads: io.reads, writes: io.writes }).toEqual({ reads: 0, writes: 0 }); // the pool still had 3 left: no refill yet
    io.restore();
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(isUuid(id)).toBe(true);
    // Each envelope names its subject's own key, which the key store holds as a version 1 wrapped by the current KEK.
    const [kek] = await kekIds(core, t);
    for (let i = 0; i < 5; i++) {
      const { series, version } = await subjectKey(core, t, ids[i]!);
      expect(series).toMatchObject({ current_version: 1, min_version: 1, destroyed_at: null });
      expect(version).toMatchObject({ parent_id: kek, root_version: null, usage_reserved: 4096 });
      expect(Buffer.from(sealed[i]!.subarray(1, 17)).toString('hex')).toBe(version!.id.replace(/-/g, ''));
    }
    // One key.create per batch, naming every key and subject (references only).
    const created = (await events(core, 'key.create')).filter((e) => e.unmapped.pooled === true);
    expect(created).toHaveLength(1);
    expect(created[0]!.tenant_uid).toBe(t);
    expect(created[0]!.unmapped).toMatchObject({ purpose: 'subject-dek', count: 8, wrappedBy: `kek ${kek}` });
    const listed = (created[0]!.unmapped.keys as Array<{ subjectId: string; keyId: string }>).map((k) => k.subjectId);
    expect(listed).toEqual(expect.arrayContaining(ids));
  });

  it('a seal right after allocateSubject agrees with a key made on first use (same shape, both open)', async () => {
    const t = randomUUID();
    const pooled = await core.keys.allocateSubject(t);
    const plain = randomUUID();
    const a = await core.keys.seal({ tenantId: t, subjectId: pooled }, Buffer.from('x'), ctx(t));
    const b = await core.keys.seal({ tenantId: t, subjectId: plain }, Buffer.from('x'), ctx(t));
    const [ka, kb] = [await subjectKey(core, t, pooled), await subjectKey(core, t, plain)];
    const shape = (k: typeof ka) => ({ ...k.version, id: '', ref: '', wrapped: null, created_at: '' });
    expect(shape(ka)).toEqual(shape(kb));
    core.keys.invalidate(); // from the key store, not the cache
    expect((await core.keys.open(a, ctx(t))).toString()).toBe('x');
    expect((await core.keys.open(b, ctx(t))).toString()).toBe('x');
  });

  it('many allocations at once: no duplicates, key-store transactions bounded by the batch size', async () => {
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 16, lowWater: 4 });
    const io = countIo(core);
    const ids = await Promise.all(Array.from({ length: 200 }, () => pool.allocate(t)));
    const writes = io.writes;
    io.restore();
    expect(new Set(ids).size).toBe(200);
    // 200 keys at 16..64 per batch, plus the tenant KEK's own creation.
    expect(pool.writes).toBeLessThanOrEqual(Math.ceil(200 / 16) + 1);
    expect(writes).toBeLessThanOrEqual(Math.ceil(200 / 16) + 3);
    await vi.waitFor(() => expect(pool.size(t)).toBeGreaterThanOrEqual(4));
    const sealed = await Promise.all(ids.slice(0, 20).map((id, i) => core.keys.seal({ tenantId: t, subjectId: id }, Buffer.from(`v${i}`), ctx(t, `r${i}`))));
    for (let i = 0; i < 20; i++) expect((await core.keys.open(sealed[i]!, ctx(t, `r${i}`))).toString()).toBe(`v${i}`);
    // Tenants have pools of their own.
    const u = randomUUID();
    const other = await pool.allocate(u);
    expect(ids).not.toContain(other);
    expect((await subjectKey(core, u, other)).version?.owner).toBe(u);
  });

  it('refills after exhaustion, in batches, in the background', async () => {
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 8, lowWater: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await pool.allocate(t));
    expect(new Set(ids).size).toBe(30);
    expect(pool.writes).toBeLessThanOrEqual(5); // 30 keys, 8 a batch
    for (const id of ids) expect((await subjectKey(core, t, id)).version?.wrapped).not.toBeNull();
  });

  it('a tenant KEK rotation empties the pool: later keys are wrapped by the new KEK, and old pooled keys are rewrapped like any', async () => {
    const clock = manualClock();
    await core.close();
    core = await keysCore(env.config, { clock });
    const admin = adminOf(core);
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 8, lowWater: 2 });
    const before = await pool.allocate(t);
    const [kek1] = await kekIds(core, t);
    expect((await subjectKey(core, t, before)).version?.parent_id).toBe(kek1);
    const rotated = await admin.rotateTenant(sys, t);
    const after = await Promise.all(Array.from({ length: 12 }, () => pool.allocate(t)));
    for (const id of after) expect((await subjectKey(core, t, id)).version?.parent_id).toBe(rotated.keyId);
    // The 7 keys left in the pool before the rotation (orphans now) and the handed-out one are rewrapped; KEK v1 retires.
    const [job] = await admin.rewrap(sys);
    expect(job?.rewrapped).toBeGreaterThanOrEqual(8);
    clock.advance(6_000);
    expect((await admin.retire(sys)).keks).toEqual([{ tenantId: t, retired: [1], minVersion: 2 }]);
    const again = await pool.allocate(t);
    const e = await core.keys.seal({ tenantId: t, subjectId: again }, Buffer.from('v'), ctx(t));
    core.keys.invalidate();
    expect((await core.keys.open(e, ctx(t))).toString()).toBe('v');
    const status = await admin.status(sys, t);
    expect(status.tenants[0]?.kek?.versions.map((v) => [v.version, v.state])).toEqual([
      [1, 'retired'],
      [2, 'current'],
    ]);
  });

  it('a tenant KEK destroyed (here or by another process) is never handed a pooled key out', async () => {
    const admin = adminOf(core);
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 8, lowWater: 2 });
    await pool.allocate(t);
    await admin.destroy(sys, { tenantId: t, reason: 'tenant offboarded' });
    expect(await codeOf(pool.allocate(t))).toBe('KEY_DESTROYED');
    expect(pool.size(t)).toBe(0);

    // Another process destroys the KEK: this one notices within its revalidation interval (1 s), as its cache does.
    const u = randomUUID();
    await pool.allocate(u);
    const other = await keysCore(env.config);
    await adminOf(other).destroy(sys, { tenantId: u, reason: 'tenant offboarded elsewhere' });
    await other.close();
    await new Promise((r) => setTimeout(r, 1100));
    expect(await codeOf(pool.allocate(u))).toBe('KEY_DESTROYED');
  });

  it("destroying a pooled subject's key makes its data KEY_DESTROYED; a destroyed pooled key is not handed out", async () => {
    const admin = adminOf(core);
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 8, lowWater: 2 });
    const s = await pool.allocate(t);
    const e = await core.keys.seal({ tenantId: t, subjectId: s }, Buffer.from('v'), ctx(t));
    await admin.destroy(sys, { tenantId: t, subjectId: s, reason: 'DSR-1' });
    expect(await codeOf(core.keys.open(e, ctx(t)))).toBe('KEY_DESTROYED');
    core.keys.invalidate();
    expect(await codeOf(core.keys.open(e, ctx(t)))).toBe('KEY_DESTROYED');
    expect(await codeOf(core.keys.seal({ tenantId: t, subjectId: s }, Buffer.from('v'), ctx(t)))).toBe('KEY_DESTROYED');
    pool.release(t, s); // released after destruction: checked again, never handed out
    // A key still in the pool, destroyed (a sweep would do this to orphans): dropped from the pool.
    const pooled = (await core.db.read((tx) => store.listPooled(store.keyStore(tx, core.db.adapter.keyStoreSchema), t))).map((p) => p.subjectId);
    const victim = pooled.find((p) => p !== s)!;
    await admin.destroy(sys, { tenantId: t, subjectId: victim, reason: 'orphan sweep' });
    const next = await Promise.all(Array.from({ length: 10 }, () => pool.allocate(t)));
    expect(next).not.toContain(victim);
    expect(next).not.toContain(s);
    for (const id of next) expect((await subjectKey(core, t, id)).version?.wrapped).not.toBeNull();
    expect((await events(core, 'key.destroy')).length).toBe(2);
  });

  it('keys evicted from a small cache are reloaded with a fresh usage reservation before they are handed out', async () => {
    await core.close();
    core = await keysCore(env.config, { cache: { maxEntries: 6, ttlSeconds: 300 } });
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 8, lowWater: 2 });
    const ids: string[] = [];
    const sealed: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      const id = await pool.allocate(t);
      ids.push(id);
      sealed.push(await core.keys.seal({ tenantId: t, subjectId: id }, Buffer.from(`v${i}`), ctx(t, `r${i}`)));
    }
    expect(new Set(ids).size).toBe(12);
    core.keys.invalidate();
    for (let i = 0; i < 12; i++) expect((await core.keys.open(sealed[i]!, ctx(t, `r${i}`))).toString()).toBe(`v${i}`);
    // The reservation made at creation is never reused by a reload: a reloaded key reserved a second window.
    const usage = await Promise.all(ids.map(async (id) => (await subjectKey(core, t, id)).version!.usage_reserved));
    expect(usage.some((u) => Number(u) === 8192)).toBe(true);
    expect(usage.every((u) => Number(u) === 4096 || Number(u) === 8192)).toBe(true);
  });

  it('a cache invalidation before a new tenant has any key does not fail its first allocation', async () => {
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 4, lowWater: 1 });
    core.keys.touched(); // the first allocation waits for the generation check ...
    const first = pool.allocate(t);
    core.keys.invalidate(); // ... and the cache is invalidated meanwhile
    expect(isUuid(await first)).toBe(true);
  });

  it('an id released after a KEK rotation is not handed out again (its key is wrapped by the old KEK)', async () => {
    const admin = adminOf(core);
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 8, lowWater: 2 });
    const a = await pool.allocate(t);
    const rotated = await admin.rotateTenant(sys, t);
    // The failed create's seal: caches the key again under the new epoch.
    await core.keys.seal({ tenantId: t, subjectId: a }, Buffer.from('x'), { tenantId: t, purpose: 'vault/v1/c', objectId: 'r', field: 'f' });
    const b = await pool.allocate(t);
    expect((await subjectKey(core, t, b)).version?.parent_id).toBe(rotated.keyId);
    pool.release(t, a);
    const more = await Promise.all(Array.from({ length: 10 }, () => pool.allocate(t)));
    expect(more).not.toContain(a);
    for (const id of more) expect((await subjectKey(core, t, id)).version?.parent_id).toBe(rotated.keyId);
  });

  it('releaseSubject puts an unused id back; unknown ids are ignored', async () => {
    const t = randomUUID();
    const a = await core.keys.allocateSubject(t);
    core.keys.releaseSubject(t, a);
    expect(await core.keys.allocateSubject(t)).toBe(a);
    expect(await codeOf(core.keys.allocateSubject('_platform'))).toBe('KEY_MISUSED');
    const stranger = randomUUID();
    core.keys.releaseSubject(t, stranger);
    core.keys.releaseSubject(randomUUID(), a);
    const more = await Promise.all(Array.from({ length: 5 }, () => core.keys.allocateSubject(t)));
    expect(more).not.toContain(stranger);
    expect(more).not.toContain(a);
  });

  it('after a clean stop, the keys still marked pooled are exactly those never handed out (orphans, harmless)', async () => {
    const t = randomUUID();
    const handed = await Promise.all(Array.from({ length: 5 }, () => core.keys.allocateSubject(t)));
    const sealed = await core.keys.seal({ tenantId: t, subjectId: handed[0] }, Buffer.from('v'), ctx(t));
    await core.close();
    core = await keysCore(env.config);
    const marked = await core.db.read((tx) => store.listPooled(store.keyStore(tx, core.db.adapter.keyStoreSchema), t));
    const created = (await events(core, 'key.create')).filter((e) => e.unmapped.pooled === true);
    const all = created.flatMap((e) => (e.unmapped.keys as Array<{ subjectId: string }>).map((k) => k.subjectId));
    expect(marked.map((m) => m.subjectId).sort()).toEqual(all.filter((id) => !handed.includes(id)).sort());
    // A new process has a pool of its own: fresh ids, never the orphans; the data sealed before opens.
    const next = await core.keys.allocateSubject(t);
    expect(all).not.toContain(next);
    expect((await core.keys.open(sealed, ctx(t))).toString()).toBe('v');
    const status = await adminOf(core).status(sys, t);
    expect(status.tenants[0]?.subjects).toBeGreaterThanOrEqual(all.length);
  });

  it('keys made but never handed out are marked pooled in the key store; handed-out ones are cleared by the next batch', async () => {
    const t = randomUUID();
    const pool = new SubjectPool(core.keys, { batchSize: 4, lowWater: 1 });
    const handed = [await pool.allocate(t), await pool.allocate(t), await pool.allocate(t), await pool.allocate(t)];
    await pool.allocate(t); // the fifth: a second batch, which marks the first four as handed out
    const marked = await core.db.read((tx) => store.listPooled(store.keyStore(tx, core.db.adapter.keyStoreSchema), t));
    expect(marked.map((m) => m.subjectId)).not.toEqual(expect.arrayContaining(handed));
    expect(marked.length).toBeGreaterThanOrEqual(3);
    expect(marked.every((m) => m.tenantId === t && m.createdAt > 0)).toBe(true);
    // Status counts pooled keys apart from the subjects.
    const status = await adminOf(core).status(sys, t);
    expect(status.tenants[0]?.subjectsPooled).toBe(marked.length);
  });
});
