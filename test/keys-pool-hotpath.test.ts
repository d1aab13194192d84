import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGuard } from '../src/access/index.js';
import { createKeyAdmin } from '../src/keys/index.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';
import { codeOf, keysCore } from './helpers/keys.js';

// The keyring's hot paths for keys already in the cache (seal, open, blindIndex) and the
// single-flight lookup of a series' current key; they stand beside the slow paths, so each
// test also checks that both give the same answer.

const sys = systemContext('test');
const ctx = (tenantId: string, objectId = 'rec-1', field = 'email') => ({ tenantId, purpose: 'people', objectId, field });
type Core = Awaited<ReturnType<typeof keysCore>>;

function countIo(core: Core) {
  const reads = vi.spyOn(core.keys.db, 'read');
  const writes = vi.spyOn(core.keys.db, 'write');
  return { io: () => ({ reads: reads.mock.calls.length, writes: writes.mock.calls.length }) };
}

async function keyCreates(core: Core, subjectId: string): Promise<number> {
  const rows = await core.db.read((tx) => tx.selectFrom('audit_outbox').select('event').execute());
  return rows
    .map((r) => JSON.parse(r.event) as { custos: { action: string }; unmapped: { subjectId?: string } })
    .filter((e) => e.custos.action === 'key.create' && e.unmapped.subjectId === subjectId).length;
}

describe.each(DIALECTS)('keyring hot paths on %s', (dialect) => {
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

  it('seal, open and blindIndex of a cached subject/tenant key read nothing from the key store', async () => {
    const t = randomUUID();
    const s = randomUUID();
    const first = await core.keys.seal({ tenantId: t, subjectId: s }, Buffer.from('v'), ctx(t));
    await core.keys.blindIndex(t, 'people', 'email', 'warm');
    const { io } = countIo(core);
    for (let i = 0; i < 200; i++) {
      const e = await core.keys.seal({ tenantId: t, subjectId: s }, Buffer.from(`v${i}`), ctx(t, `r${i}`));
      expect((await core.keys.open(e, ctx(t, `r${i}`))).toString()).toBe(`v${i}`);
      await core.keys.blindIndex(t, 'people', 'email', `x${i}`);
    }
    expect((await core.keys.open(first, ctx(t))).toString()).toBe('v');
    // At most the once-a-second generation check (revalidateMs), never per call.
    expect(io().writes).toBe(0);
    expect(io().reads).toBeLessThanOrEqual(2);
  });

  it('blindIndex: the cached path and the key-store path give the same index (and so does a restart)', async () => {
    const t = randomUUID();
    const slow = await core.keys.blindIndex(t, 'people', 'email', 'alice@example.test');
    const hot = await core.keys.blindIndex(t, 'people', 'email', 'alice@example.test');
    expect(hot).toBe(slow);
    core.keys.invalidate();
    expect(await core.keys.blindIndex(t, 'people', 'email', 'alice@example.test')).toBe(slow);
    expect(await core.keys.blindIndex(t, 'people', 'phone', 'alice@example.test')).not.toBe(slow);
    await core.close();
    core = await keysCore(env.config);
    expect(await core.keys.blindIndex(t, 'people', 'email', 'alice@example.test')).toBe(slow);
  });

  it('a wiped index key never derives an index (it would be from zeroes): stale, taken again', async () => {
    const t = randomUUID();
    const good = await core.keys.blindIndex(t, 'people', 'email', 'v');
    const m = await core.keys.current({ owner: t, purpose: 'index-key', ref: '' }, false);
    core.keys.invalidate(); // wipes m
    expect(m.wiped).toBe(true);
    expect(() => m.indexKey('people', 'email')).toThrow(/was wiped/);
    expect(await core.keys.blindIndex(t, 'people', 'email', 'v')).toBe(good);
  });

  it('a destroyed tenant: blindIndex and seal fail with KEY_DESTROYED right away here, within revalidateMs elsewhere', async () => {
    const admin = createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) });
    const t = randomUUID();
    await core.keys.blindIndex(t, 'people', 'email', 'v');
    await admin.destroy(sys, { tenantId: t, reason: 'offboarded' });
    expect(await codeOf(core.keys.blindIndex(t, 'people', 'email', 'v'))).toBe('KEY_DESTROYED');

    const u = randomUUID();
    await core.keys.blindIndex(u, 'people', 'email', 'v');
    const e = await core.keys.seal({ tenantId: u }, Buffer.from('v'), ctx(u));
    const other = await keysCore(env.config);
    await createKeyAdmin({ core: other.keys, guard: createGuard({ audit: other.audit }) }).destroy(sys, { tenantId: u, reason: 'elsewhere' });
    await other.close();
    await new Promise((r) => setTimeout(r, 1100));
    expect(await codeOf(core.keys.blindIndex(u, 'people', 'email', 'v'))).toBe('KEY_DESTROYED');
    expect(await codeOf(core.keys.open(e, ctx(u)))).toBe('KEY_DESTROYED');
  });

  it('fields of a record for a new subject sealed at once make one subject key: one lookup, one write, one key.create', async () => {
    const t = randomUUID();
    await core.keys.seal({ tenantId: t }, Buffer.from('warm'), ctx(t)); // the tenant KEK exists
    const s = randomUUID();
    const { io } = countIo(core);
    const fields = ['email', 'name', 'phone', 'customer', 'notes', 'city'];
    const sealed = await Promise.all(fields.map((f) => core.keys.seal({ tenantId: t, subjectId: s }, Buffer.from(f), ctx(t, 'r', f))));
    expect(io()).toEqual({ reads: 1, writes: 1 });
    expect(new Set(sealed.map((e) => e.subarray(1, 17).toString('hex'))).size).toBe(1);
    expect(await keyCreates(core, s)).toBe(1);
    core.keys.invalidate();
    for (let i = 0; i < fields.length; i++) expect((await core.keys.open(sealed[i]!, ctx(t, 'r', fields[i]))).toString()).toBe(fields[i]);
  });
});
