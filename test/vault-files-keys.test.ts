// The vault file layer with the real keyring on both dialects: a file's
// content key is sealed under its data subject's DEK, so destroying that DEK
// (crypto-shredding) makes the file unreadable while another subject's file
// still opens byte-identical; a file never opens under another tenant.
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobDirFor, createFileVault, createLocalBlobStore, type FileRef, type FileVault } from '../src/vault/files/index.js';
import { DIALECTS, testApp, uniqueSlug, type TestApp } from './helpers/app.js';
import { codeOf } from './helpers/keys.js';

async function read(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

describe.each(DIALECTS)('sealed files under subject keys on %s', (dialect) => {
  let t: TestApp;
  let files: FileVault;
  beforeEach(async () => {
    t = await testApp(dialect);
    const store = await createLocalBlobStore({ dir: blobDirFor(t.env.dataDir) });
    files = createFileVault({ keyring: t.custos.keys, store, maxBytes: 8 * 1024 * 1024 });
  });
  afterEach(async () => {
    await t.close();
  });

  it("destroying one subject's key makes that subject's file unreadable and leaves the other's intact", async () => {
    const tid = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('vf'), name: 'Files' } })).json().id as string;
    const [s1, s2] = [randomUUID(), randomUUID()];
    const put = async (subjectId: string) => {
      const ref: FileRef = { tenantId: tid, collection: 'customers', recordId: randomUUID(), field: 'passport' };
      const body = randomBytes(200_000);
      const stored = await files.put({ target: { tenantId: tid, subjectId }, ref, source: Readable.from([body]) });
      return { ref, body, stored };
    };
    const [one, two] = [await put(s1), await put(s2)];
    expect((await read(await files.open({ ...one.stored, ref: one.ref }))).equals(one.body)).toBe(true);

    const otherTenant = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('vf2'), name: 'Other' } })).json().id as string;
    expect(await codeOf(files.open({ ...one.stored, ref: { ...one.ref, tenantId: otherTenant } }))).toMatch(/^(CRYPTO_|KEY_)/);

    const destroyed = await t.request({ method: 'POST', url: `/api/v1/tenants/${tid}/keys/destroy`, body: { scope: 'subject', subjectId: s1, reason: 'erasure test' } });
    expect(destroyed.statusCode, destroyed.body).toBe(201);
    expect(await codeOf(files.open({ ...one.stored, ref: one.ref }))).toBe('KEY_DESTROYED');
    expect((await read(await files.open({ ...two.stored, ref: two.ref }))).equals(two.body)).toBe(true);
  });
});
