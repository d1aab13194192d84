import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, type TestApp } from './helpers/app.js';
import { acceptedCorpus, refusedCorpus } from './helpers/upload-corpus.js';
import { ALL_PURPOSES, apiKey, createCollection, newTenant, recordsApi } from './helpers/vault.js';

const DOCS = {
  name: 'documents',
  subjectField: 'email',
  retentionDays: 365,
  fields: {
    email: { type: 'email', personal: true, category: 'user.contact.email', required: true, purposes: ['support'] },
    scan: { type: 'file', personal: true, category: 'user.government_id', purposes: ['data_subject_request'], maxBytes: 1_000_000 },
  },
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe.each(DIALECTS)('vault file fields on %s', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp(dialect);
  });
  afterEach(async () => {
    await t.close();
  });

  it('stores accepted uploads encrypted, serves them back for a held purpose only, and refuses executables with a security event', async () => {
    const tid = await newTenant(t);
    await createCollection(t, tid, DOCS);
    const token = await apiKey(t, tid, ALL_PURPOSES);
    const api = recordsApi(t, tid, token, 'documents');
    const rec = (await api.create({ email: 'ada@example.org' })).json();
    const url = `${api.base}/${rec.id}/files/scan`;
    const put = (body: Buffer, type: string, tok = token) => t.custos.app.inject({ method: 'PUT', url, headers: { authorization: `Bearer ${tok}`, 'content-type': type }, payload: body });

    const canary = `canary-${Date.now()}-file`;
    for (const item of acceptedCorpus(canary)) {
      const r = await put(item.body, item.declaredType);
      expect(r.statusCode, `${item.name}: ${r.body}`).toBe(201);
      expect(r.json()).toMatchObject({ size: item.body.length });
      const back = await t.custos.app.inject({ method: 'GET', url: `${url}?reason=data_subject_request`, headers: { authorization: `Bearer ${token}` } });
      expect(back.statusCode, back.body).toBe(200);
      expect(back.rawPayload.equals(item.body), item.name).toBe(true);
      expect(back.headers['content-type']).toBe(r.json().mediaType);
      expect(back.headers['x-content-type-options']).toBe('nosniff');
    }
    const noReason = await t.custos.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    expect(noReason.statusCode).toBe(403);
    const wrongReason = await t.custos.app.inject({ method: 'GET', url: `${url}?reason=support`, headers: { authorization: `Bearer ${token}` } });
    expect(wrongReason.statusCode).toBe(403);
    // The record shows the reference to a reader with the purpose, and withholds it otherwise.
    expect((await api.get(rec.id, '?reason=data_subject_request')).json().fields.scan).toMatchObject({ mediaType: 'text/csv' });
    expect((await api.get(rec.id, '?reason=support')).json().withheld).toEqual(['scan']);

    for (const item of await refusedCorpus()) {
      const r = await put(item.body, item.declaredType);
      expect(r.statusCode, `${item.name}: ${r.body}`).toBe(item.status);
      expect(r.json().code, item.name).toBe(item.code);
    }
    const refused = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'vault.file.refused');
    expect(refused.length).toBe((await refusedCorpus()).length);
    expect(refused.every((e) => e.custos.kind === 'security')).toBe(true);

    // Only one blob (the last accepted file); nothing in it is plaintext.
    const blobs = filesUnder(path.join(t.env.dataDir, 'blobs')).filter((f) => !f.includes(`${path.sep}.tmp`));
    expect(blobs).toHaveLength(1);
    for (const b of blobs) expect(readFileSync(b).includes(canary)).toBe(false);

    expect((await t.custos.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(204);
    expect((await t.custos.app.inject({ method: 'GET', url: `${url}?reason=data_subject_request`, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(404);
    expect(filesUnder(path.join(t.env.dataDir, 'blobs')).filter((f) => !f.includes(`${path.sep}.tmp`))).toHaveLength(0);
  });
});
