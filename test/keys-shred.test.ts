import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scopeTenant } from '../src/db/index.js';
import type { IntegrationsTable } from '../src/db/types.js';
import { loadConfig } from '../src/config/index.js';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';
import { codeOf, keysCore } from './helpers/keys.js';

const secretOf = (name: string) => `whsec-${name}-0123456789`;

describe.each(DIALECTS)('crypto-shredding one data subject on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it("makes that subject's data unreadable through the API and in a pre-destruction copy of the data, leaves others untouched, and records the erasure", async () => {
    const tid = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('shred'), name: 'Shred' } })).json().id as string;
    const [s1, s2] = [randomUUID(), randomUUID()];
    const ids: Record<string, string> = {};
    for (const [name, subjectId] of [['one', s1], ['two', s2], ['tenant', undefined]] as const) {
      const r = await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tid}/integrations`,
        body: { kind: 'webhook', name, provider: 'p', secret: secretOf(name), ...(subjectId ? { subjectId } : {}) },
      });
      expect(r.statusCode, r.body).toBe(201);
      ids[name] = r.json().id;
    }
    const sign = (name: string) => t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations/${ids[name]}/sign`, body: { payload: 'p', timestamp: 1 } });
    const before = Object.fromEntries(await Promise.all(['one', 'two', 'tenant'].map(async (n) => [n, (await sign(n)).json().signature])));

    // The stand-in for a backup: the integration rows as they were (and, on SQLite, a copy of the data file).
    const db = t.custos.db;
    const snapshot = await db.read(async (tx) => (await scopeTenant(db.adapter, tx, tid)).selectFrom('integrations').selectAll().execute());
    const copyDir = mkdtempSync(path.join(os.tmpdir(), 'custos-backup-'));
    if (dialect === 'sqlite') {
      const src = new BetterSqlite3(path.join(t.env.dataDir, 'custos.db'), { readonly: true });
      await src.backup(path.join(copyDir, 'custos.db'));
      src.close();
    }

    const destroyed = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tid}/keys/destroy`,
      body: { scope: 'subject', subjectId: s1, reason: 'GDPR Art. 17 request DSR-2031' },
    });
    expect(destroyed.statusCode, destroyed.body).toBe(201);
    const entry = destroyed.json();
    expect(entry).toMatchObject({ scope: 'subject', tenantId: tid, subjectId: s1, reason: 'GDPR Art. 17 request DSR-2031' });

    // Through the API: gone for good (410), never garbage; the others sign exactly as before.
    const gone = await sign('one');
    expect(gone.statusCode).toBe(410);
    expect(gone.json().code).toBe('KEY_DESTROYED');
    expect((await sign('two')).json().signature).toBe(before['two']);
    expect((await sign('tenant')).json().signature).toBe(before['tenant']);
    const again = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/integrations`, body: { kind: 'webhook', name: 'new', provider: 'p', secret: secretOf('new'), subjectId: s1 } });
    expect(again.statusCode).toBe(410);

    // The old rows restored (as from a backup) still cannot be read with the current key store.
    await db.write(async (tx) => {
      const s = await scopeTenant(db.adapter, tx, tid);
      await s.deleteFrom('integrations').execute();
      for (const row of snapshot) {
        const { tenant_id: _t, ...rest } = row as IntegrationsTable;
        await s.insertInto('integrations', rest).execute();
      }
    });
    expect((await sign('one')).json().code).toBe('KEY_DESTROYED');
    expect((await sign('two')).json().signature).toBe(before['two']);

    // The ledger has the entry (API and key store), and the audit log the event.
    const ledger = await t.request({ method: 'GET', url: `/api/v1/keys/erasure-ledger?tenantId=${tid}` });
    expect(ledger.json().items).toEqual([entry]);
    const ev = (await outboxEvents(t.custos)).find((e) => e.custos.action === 'key.destroy');
    expect(ev).toMatchObject({ tenant_uid: tid, unmapped: { ledgerId: entry.id, scope: 'subject' } });

    if (dialect === 'sqlite') {
      // The copy of the data file taken before the destruction, read with the current key store and root key.
      const restored = mkdtempSync(path.join(os.tmpdir(), 'custos-restored-'));
      cpSync(path.join(copyDir, 'custos.db'), path.join(restored, 'custos.db'));
      await t.custos.close();
      cpSync(path.join(t.env.dataDir, 'keystore.db'), path.join(restored, 'keystore.db'));
      cpSync(path.join(t.env.dataDir, 'keyring'), path.join(restored, 'keyring'), { recursive: true });
      const core = await keysCore(loadConfig({ env: {}, overrides: { dataDir: restored, logLevel: 'silent' } }));
      const rows = await core.db.read(async (tx) => (await scopeTenant(core.db.adapter, tx, tid)).selectFrom('integrations').selectAll().execute());
      const byName = new Map(rows.map((r) => [r.name, r]));
      const ctxOf = (r: IntegrationsTable) => ({ tenantId: tid, purpose: 'integrations', objectId: r.id, field: 'webhook_secret' });
      const one = byName.get('one')!;
      expect(await codeOf(core.keys.open(Buffer.from(one.secret), ctxOf(one)))).toBe('KEY_DESTROYED');
      const two = byName.get('two')!;
      expect((await core.keys.open(Buffer.from(two.secret), ctxOf(two))).toString()).toBe(secretOf('two'));
      await core.close();
      t.custos.close = async () => {}; // already closed
      rmSync(restored, { recursive: true, force: true });
    }
    rmSync(copyDir, { recursive: true, force: true });
  });

  it('destroying needs keys:manage, a recent second factor, a reason and a consistent scope', async () => {
    const tid = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('shred'), name: 'Shred' } })).json().id as string;
    const url = `/api/v1/tenants/${tid}/keys/destroy`;
    expect((await t.request({ method: 'POST', url, body: { scope: 'subject', subjectId: randomUUID(), reason: '' } })).statusCode).toBe(400);
    const noSubject = await t.request({ method: 'POST', url, body: { scope: 'subject', reason: 'x' } });
    expect(noSubject.json().code).toBe('KEY_DESTROY_SCOPE_INVALID');
    expect((await t.request({ method: 'POST', url, body: { scope: 'subject', subjectId: randomUUID(), reason: 'x' }, token: null })).statusCode).toBe(401);
    const member = {
      actor: { type: 'api_key' as const, id: randomUUID(), tenantId: tid, permissions: ['integrations:write'], purposes: [] },
      requestId: 'req-member',
      sourceIp: null,
    };
    expect(await codeOf(t.custos.keyAdmin.destroy(member, { tenantId: tid, subjectId: randomUUID(), reason: 'x' }))).toBe('ACCESS_DENIED');
    const staleMfa = { actor: { type: 'user' as const, id: randomUUID(), platformRoles: ['platform_admin'], mfaAt: '2020-01-01T00:00:00Z' }, requestId: 'r', sourceIp: null };
    expect(await codeOf(t.custos.keyAdmin.destroy(staleMfa, { tenantId: tid, subjectId: randomUUID(), reason: 'x' }))).toBe('AUTH_STEP_UP_REQUIRED');
    const events = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'key.destroy');
    expect(events).toEqual([]);
  });
});
