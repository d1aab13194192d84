import { randomUUID, verify, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKeyAdmin } from '../src/keys/index.js';
import { createGuard } from '../src/access/index.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';
import { codeOf, countingProvider, keysCore, localRoot, manualClock } from './helpers/keys.js';

const ctx = (tenantId: string, objectId = 'rec-1', field = 'email') => ({ tenantId, purpose: 'people', objectId, field });
const sys = systemContext('test');

describe.each(DIALECTS)('keyring on %s', (dialect) => {
  let env: TestEnv;
  beforeEach(async () => {
    env = await testEnv(dialect);
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('seals under tenant and per-subject DEKs; opens only in the same tenant and context', async () => {
    const core = await keysCore(env.config);
    const [a, b] = [randomUUID(), randomUUID()];
    const s1 = randomUUID();
    const plain = Buffer.from('alice@example.test');
    const tenantEnv = await core.keys.seal({ tenantId: a }, plain, ctx(a));
    const subjEnv = await core.keys.seal({ tenantId: a, subjectId: s1 }, plain, ctx(a));
    const otherSubj = await core.keys.seal({ tenantId: a, subjectId: randomUUID() }, plain, ctx(a));
    expect((await core.keys.open(tenantEnv, ctx(a))).toString()).toBe('alice@example.test');
    expect((await core.keys.open(subjEnv, ctx(a))).toString()).toBe('alice@example.test');
    // Three different keys: the key id sits right after the version byte.
    expect(new Set([tenantEnv, subjEnv, otherSubj].map((e) => e.subarray(1, 17).toString('hex'))).size).toBe(3);
    expect(await codeOf(core.keys.open(subjEnv, ctx(a, 'rec-2')))).toBe('CRYPTO_DECRYPT_FAILED');
    expect(await codeOf(core.keys.open(subjEnv, ctx(a, 'rec-1', 'phone')))).toBe('CRYPTO_DECRYPT_FAILED');
    expect(await codeOf(core.keys.open(subjEnv, ctx(b)))).toBe('KEY_MISUSED');
    const audited = await core.db.read((tx) => tx.selectFrom('audit_outbox').select('event').execute());
    const actions = audited.map((r) => (JSON.parse(r.event) as { custos: { action: string } }).custos.action);
    expect(actions.filter((x) => x === 'key.create')).toHaveLength(4); // KEK, tenant DEK, two subject DEKs
    expect(actions).toContain('key.unseal');
    await core.close();
  });

  it('keeps wrapped keys in the key store only (its own file / schema), never in the data', async () => {
    const core = await keysCore(env.config);
    const t = randomUUID();
    await core.keys.seal({ tenantId: t }, Buffer.from('x'), ctx(t));
    await core.keys.blindIndex(t, 'people', 'email', 'x');
    const n = await core.db.read(async (tx) =>
      (await sql<{ n: number }>`select count(*) as n from ${sql.table(`${core.db.adapter.keyStoreSchema}.key_versions`)}`.execute(tx)).rows[0]?.n,
    );
    expect(Number(n)).toBe(3); // KEK, DEK, index key
    if (dialect === 'sqlite') {
      await core.close();
      const data = new BetterSqlite3(path.join(env.dataDir, 'custos.db'), { readonly: true });
      const tables = data.prepare(`select name from sqlite_master where type = 'table'`).all() as Array<{ name: string }>;
      data.close();
      expect(tables.map((x) => x.name)).not.toContain('key_versions');
      expect(existsSync(path.join(env.dataDir, 'keystore.db'))).toBe(true);
      const ks = new BetterSqlite3(path.join(env.dataDir, 'keystore.db'), { readonly: true });
      expect((ks.prepare('select count(*) as n from key_versions where wrapped is not null').get() as { n: number }).n).toBeGreaterThanOrEqual(3);
      ks.close();
      return;
    }
    // PostgreSQL: its own schema; the app role may not delete keys nor rewrite the ledger.
    const rows = await core.db.read(async (tx) =>
      (await sql<{ table_schema: string }>`select table_schema from information_schema.tables where table_name = 'key_versions'`.execute(tx)).rows,
    );
    expect(rows.map((r) => r.table_schema)).toEqual(['custos_keys']);
    await expect(core.db.write((tx) => sql`delete from custos_keys.key_versions`.execute(tx))).rejects.toThrow(/permission denied/);
    await core.close();
  });

  it('persists usage reservations: after a restart the count goes on above the earlier reservation', async () => {
    const t = randomUUID();
    let core = await keysCore(env.config);
    for (let i = 0; i < 3; i++) await core.keys.seal({ tenantId: t }, Buffer.from('v'), ctx(t));
    const usage = async () => {
      const admin = createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) });
      const s = await admin.status(sys, t);
      return s.tenants[0]?.dek?.versions[0]?.usage;
    };
    expect(await usage()).toBe(4096);
    await core.close();
    core = await keysCore(env.config);
    const e = await core.keys.seal({ tenantId: t }, Buffer.from('v'), ctx(t));
    expect(await usage()).toBe(8192);
    expect((await core.keys.open(e, ctx(t))).toString()).toBe('v');
    await core.close();
  });

  it('rotates a data key before 2^32 encryptions; the old version still decrypts', async () => {
    const t = randomUUID();
    const core = await keysCore(env.config);
    const old = await core.keys.seal({ tenantId: t }, Buffer.from('old'), ctx(t));
    // Pretend the key has used up almost all of its 2^32: the next reservation crosses the limit.
    await core.db.write((tx) =>
      tx
        .withSchema(core.db.adapter.keyStoreSchema)
        .updateTable('key_versions' as never)
        .set({ usage_reserved: 2 ** 32 } as never)
        .where('purpose' as never, '=', 'tenant-dek' as never)
        .execute(),
    );
    core.keys.invalidate();
    const fresh = await core.keys.seal({ tenantId: t }, Buffer.from('new'), ctx(t));
    expect(fresh.subarray(1, 17).equals(old.subarray(1, 17))).toBe(false);
    expect((await core.keys.open(old, ctx(t))).toString()).toBe('old');
    expect((await core.keys.open(fresh, ctx(t))).toString()).toBe('new');
    const s = await createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) }).status(sys, t);
    expect(s.tenants[0]?.dek?.versions.map((v) => [v.version, v.state])).toEqual([
      [1, 'decrypt-only'],
      [2, 'current'],
    ]);
    await core.close();
  });

  it('holds unwrapped keys in a bounded cache: evicted or expired keys are unwrapped again', async () => {
    const clock = manualClock();
    const root = countingProvider(await localRoot(env.config));
    const core = await keysCore(env.config, { clock, root, cache: { maxEntries: 3, ttlSeconds: 60 } });
    const tenants = [randomUUID(), randomUUID(), randomUUID()];
    const sealed = [];
    for (const t of tenants) sealed.push(await core.keys.seal({ tenantId: t }, Buffer.from(t), ctx(t)));
    const base = root.unwraps;
    await core.keys.open(sealed[2]!, ctx(tenants[2]!));
    expect(root.unwraps).toBe(base); // still cached
    for (const [i, t] of tenants.entries()) await core.keys.open(sealed[i]!, ctx(t));
    expect(root.unwraps).toBeGreaterThan(base); // only 3 entries fit: the first tenants' keys were evicted
    const afterEvict = root.unwraps;
    await core.keys.open(sealed[2]!, ctx(tenants[2]!));
    expect(root.unwraps).toBe(afterEvict);
    clock.advance(61_000);
    await core.keys.open(sealed[2]!, ctx(tenants[2]!));
    expect(root.unwraps).toBe(afterEvict + 1); // expired: the KEK is unwrapped by the root again
    await core.close();
  });

  it('gives the audit module a stable Ed25519 signing key wrapped by the root; rotation keeps the old public key listed', async () => {
    let core = await keysCore(env.config);
    const s1 = await core.keys.auditSigner();
    const msg = Buffer.from('checkpoint body');
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: s1.publicKey.toString('base64url') }, format: 'jwk' });
    expect(verify(null, msg, pub, s1.sign(msg))).toBe(true);
    expect(JSON.stringify(s1)).not.toContain(s1.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
    await core.close();
    core = await keysCore(env.config);
    const again = await core.keys.auditSigner();
    expect(again.publicKey.equals(s1.publicKey)).toBe(true);
    await createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) }).rotateAuditSigning(sys);
    const s2 = await core.keys.auditSigner();
    expect(s2.version).toBe(2);
    expect((await core.keys.auditPublicKeys()).map((k) => k.publicKey.toString('hex'))).toEqual([s1.publicKey.toString('hex'), s2.publicKey.toString('hex')]);
    await core.close();
  });

  it('crypto-shreds a subject: KEY_DESTROYED (never garbage), other subjects untouched, no new key for the subject, ledger and audit entry; another process notices', async () => {
    const core = await keysCore(env.config);
    const other = await keysCore(env.config); // a second process on the same stores
    const t = randomUUID();
    const [s1, s2] = [randomUUID(), randomUUID()];
    const e1 = await core.keys.seal({ tenantId: t, subjectId: s1 }, Buffer.from('one'), ctx(t));
    const e2 = await core.keys.seal({ tenantId: t, subjectId: s2 }, Buffer.from('two'), ctx(t));
    expect((await other.keys.open(e1, ctx(t))).toString()).toBe('one'); // cached in the other process now
    const admin = createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) });
    expect(await codeOf(admin.destroy(sys, { tenantId: t, subjectId: s1, reason: '  ' }))).toBe('KEY_DESTROY_REASON_REQUIRED');
    const entry = await admin.destroy(sys, { tenantId: t, subjectId: s1, reason: 'erasure request DSR-42' });
    expect(entry).toMatchObject({ scope: 'subject', tenantId: t, subjectId: s1, reason: 'erasure request DSR-42' });
    expect(entry.keyIds).toHaveLength(1);
    expect(await codeOf(core.keys.open(e1, ctx(t)))).toBe('KEY_DESTROYED');
    expect((await core.keys.open(e2, ctx(t))).toString()).toBe('two');
    expect(await codeOf(core.keys.seal({ tenantId: t, subjectId: s1 }, Buffer.from('again'), ctx(t)))).toBe('KEY_DESTROYED');
    expect(await codeOf(admin.destroy(sys, { tenantId: t, subjectId: s1, reason: 'twice' }))).toBe('KEY_ALREADY_DESTROYED');
    await new Promise((r) => setTimeout(r, 1100)); // the other process revalidates within a second
    expect(await codeOf(other.keys.open(e1, ctx(t)))).toBe('KEY_DESTROYED');
    expect((await other.keys.open(e2, ctx(t))).toString()).toBe('two');
    expect(await admin.ledger(sys)).toEqual([entry]);
    const events = (await core.db.read((tx) => tx.selectFrom('audit_outbox').select('event').execute())).map((r) => JSON.parse(r.event));
    const destroy = events.find((e: { custos: { action: string } }) => e.custos.action === 'key.destroy');
    expect(destroy).toMatchObject({ tenant_uid: t, severity_id: 4, unmapped: { scope: 'subject', ledgerId: entry.id, reason: 'erasure request DSR-42' } });
    await other.close();
    await core.close();
  });

  it('crypto-shreds a whole tenant: everything under its KEK is KEY_DESTROYED, another tenant is untouched', async () => {
    const core = await keysCore(env.config);
    const [a, b] = [randomUUID(), randomUUID()];
    const ea = [await core.keys.seal({ tenantId: a }, Buffer.from('a'), ctx(a)), await core.keys.seal({ tenantId: a, subjectId: randomUUID() }, Buffer.from('a2'), ctx(a))];
    const eb = await core.keys.seal({ tenantId: b }, Buffer.from('b'), ctx(b));
    const admin = createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) });
    const entry = await admin.destroy(sys, { tenantId: a, reason: 'tenant purged after 90 days' });
    expect(entry.scope).toBe('tenant');
    expect(entry.keyIds).toHaveLength(3); // KEK, DEK, subject DEK
    for (const e of ea) expect(await codeOf(core.keys.open(e, ctx(a)))).toBe('KEY_DESTROYED');
    expect(await codeOf(core.keys.seal({ tenantId: a }, Buffer.from('x'), ctx(a)))).toBe('KEY_DESTROYED');
    expect((await core.keys.open(eb, ctx(b))).toString()).toBe('b');
    await core.close();
  });

  it('platform DEK: seals platform data; rotation keeps old envelopes readable', async () => {
    const core = await keysCore(env.config);
    const pctx = { tenantId: '_platform', purpose: 'backups', objectId: 'manifest-1', field: 'key' };
    const v1 = await core.keys.seal({ tenantId: '_platform' }, Buffer.from('p1'), pctx);
    await createKeyAdmin({ core: core.keys, guard: createGuard({ audit: core.audit }) }).rotatePlatform(sys);
    const v2 = await core.keys.seal({ tenantId: '_platform' }, Buffer.from('p2'), pctx);
    expect(v1.subarray(1, 17).equals(v2.subarray(1, 17))).toBe(false);
    expect((await core.keys.open(v1, pctx)).toString()).toBe('p1');
    expect((await core.keys.open(v2, pctx)).toString()).toBe('p2');
    await core.close();
  });
});
