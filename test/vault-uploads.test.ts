// Must-show 3 of the vault issue: a generated corpus of executables and
// scripts (ELF, PE, Mach-O, shell with and without shebang, HTML with script,
// a zip holding an .exe) is refused over HTTP with a clear 415/422 and a
// `security` audit event; minimal PDF, PNG, JPEG and CSV files are accepted,
// downloaded back byte-identical, with their SHA-256 reported.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';
import { acceptedCorpus, refusedCorpus } from './helpers/upload-corpus.js';
import { vaultFixture, type VaultFixture } from './helpers/vault-files.js';

describe.each(DIALECTS)('vault uploads on %s', (dialect) => {
  let t: TestApp;
  let v: VaultFixture;
  beforeEach(async () => {
    t = await testApp(dialect);
    v = await vaultFixture(t, uniqueSlug('up'));
  });
  afterEach(async () => {
    await t.close();
  });

  it('refuses executables, scripts and an archive holding an .exe with 415/422 naming what was found, each with a security event', async () => {
    const recordId = await v.createRecord({ email: 'uploader@example.com', name: 'Upload Tester' });
    const corpus = await refusedCorpus();
    for (const item of corpus) {
      const res = await v.upload(recordId, 'document', item);
      expect({ item: item.name, status: res.statusCode }, res.body).toEqual({ item: item.name, status: item.status });
      const problem = res.json();
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(problem.code, item.name).toBe(item.code);
      expect(`${problem.detail} ${problem.detected ?? ''}`, item.name).toMatch(item.detected);
    }
    const refusals = (await outboxEvents(t.custos)).filter((e) => e.custos.kind === 'security' && JSON.stringify(e).includes('VAULT_UPLOAD_'));
    expect(refusals).toHaveLength(corpus.length);
    // The events name the finding, never the content.
    expect(JSON.stringify(refusals)).not.toContain('curl -fsSL');
    expect(JSON.stringify(refusals)).not.toContain('document.cookie');
    // Nothing was stored for the refused uploads: no field value, no blob, no temporary file.
    const read = await v.readRecord(recordId);
    expect(read.fields.document).toBeUndefined();
    const blobs = path.join(t.env.dataDir, 'blobs');
    const left = existsSync(blobs) ? readdirSync(blobs, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()) : [];
    expect(left.map((d) => d.name)).toEqual([]);
  });

  it('accepts a PDF, PNG, JPEG and CSV, reports their SHA-256 and gives them back byte-identical', async () => {
    for (const item of acceptedCorpus()) {
      const recordId = await v.createRecord({ email: `${item.name.split(' ')[0]!.toLowerCase()}@example.com`, name: 'File Owner' });
      const res = await v.upload(recordId, 'document', item);
      expect(res.statusCode, `${item.name}: ${res.body}`).toBeLessThan(300);
      const sha256 = createHash('sha256').update(item.body).digest('hex');
      expect(res.json(), item.name).toMatchObject({ sha256, size: item.body.length });
      const back = await v.download(recordId, 'document');
      expect(back.statusCode, item.name).toBe(200);
      expect(back.rawPayload.equals(item.body), item.name).toBe(true);
      expect(String(back.headers['content-type']), item.name).toContain(item.declaredType.split(';')[0]!.replace('image/jpg', 'image/jpeg'));
    }
  });
});
