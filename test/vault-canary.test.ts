import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scopeTenant } from '../src/db/index.js';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { ALL_PURPOSES, apiKey, createCollection, CUSTOMERS, newTenant, recordsApi } from './helpers/vault.js';

const WITH_FILE = { ...CUSTOMERS, fields: { ...CUSTOMERS.fields, attachment: { type: 'file', personal: true, category: 'user.content', purposes: ['support'] } } };

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe.each(DIALECTS)('vault canaries on %s', (dialect) => {
  let t: TestApp;
  const logLines: string[] = [];
  beforeEach(async () => {
    logLines.length = 0;
    t = await testApp(dialect, { logLines });
  });
  afterEach(async () => {
    await t.close();
  });

  it('planted personal values and file contents are nowhere at rest: database (and WAL or pg_dump), blobs, logs, audit log; blind indexes differ per tenant', async () => {
    const tag = `cnry${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const email = `${tag}@example.org`;
    const note = `${tag}-private-note`;
    const fileCanary = `${tag}-in-a-file`;
    const [a, b] = [await newTenant(t), await newTenant(t)];
    await createCollection(t, a, WITH_FILE);
    await createCollection(t, b, WITH_FILE);
    const token = await apiKey(t, a, ALL_PURPOSES);
    const api = recordsApi(t, a, token);
    const rec = (await api.create({ email, note, phone: '+49 30 1234567', plan: 'pro' })).json();
    const up = await t.custos.app.inject({
      method: 'PUT',
      url: `${api.base}/${rec.id}/files/attachment`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      payload: Buffer.from(`name,note\nx,${fileCanary}\n`),
    });
    expect(up.statusCode, up.body).toBe(201);
    // Reads, a search, a refused duplicate and an invalid value all pass the canary through the request path.
    expect((await api.get(rec.id, '?reason=support')).json().fields.note).toBe(note);
    expect((await api.search({ where: { email }, reason: 'support' })).json().items).toHaveLength(1);
    expect((await api.create({ email })).statusCode).toBe(409);
    expect((await api.create({ email: `${tag}@` })).statusCode).toBe(400);
    await recordsApi(t, b, await apiKey(t, b, ALL_PURPOSES)).create({ email });

    const hmacs: string[] = [];
    for (const tid of [a, b]) {
      const row = await t.custos.db.read(async (tx) => (await scopeTenant(t.custos.db.adapter, tx, tid)).selectFrom('vault_index').select('hmac').where('field', '=', 'email').executeTakeFirstOrThrow());
      hmacs.push(row.hmac);
    }
    expect(hmacs[0]).not.toBe(hmacs[1]);

    const needles = [tag, email, note, fileCanary];
    const haystacks: Array<[string, Buffer | string]> = [
      ['logs', logLines.join('\n')],
      ['audit log', JSON.stringify(await outboxEvents(t.custos))],
      ...filesUnder(path.join(t.env.dataDir, 'blobs')).map((f) => [f, readFileSync(f)] as [string, Buffer]),
    ];
    if (dialect === 'sqlite') {
      for (const f of ['custos.db', 'custos.db-wal', 'keystore.db', 'keystore.db-wal']) {
        const p = path.join(t.env.dataDir, f);
        if (existsSync(p)) haystacks.push([f, readFileSync(p)]);
      }
      expect(haystacks.some(([n]) => n === 'custos.db')).toBe(true);
    } else {
      haystacks.push(['pg_dump', execFileSync('pg_dump', ['--data-only', t.env.config.databaseUrl as string], { maxBuffer: 256 * 1024 * 1024 })]);
    }
    expect(haystacks.filter(([n]) => n.includes(`${path.sep}blobs${path.sep}`)).length).toBeGreaterThan(0);
    for (const [name, hay] of haystacks) for (const n of needles) expect(hay.includes(n), `${n} found in ${name}`).toBe(false);
  });
});
