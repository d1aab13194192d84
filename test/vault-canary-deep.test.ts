// The vault canary test in depth (DESIGN.md invariant 3), beside the must-show
// test/vault-canary.test.ts: canaries in every kind of personal field (email,
// name, phone as typed and as E.164, an object) and in a file, carried through
// create, read, search, update, download and refused requests, are absent in
// every spelling (UTF-8, UTF-16, hex, base64) from the SQLite file and WAL
// before and after a checkpoint, a full pg_dump, every file under the data
// directory (blobs, key store, keyring), error answers, logs and the audit
// log; a non-personal control value planted the same way IS found, so the
// scans are known to see what they look at.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DIALECTS, outboxEvents, testApp, uniqueSlug, type TestApp } from './helpers/app.js';
import { csv } from './helpers/upload-corpus.js';
import { COLLECTION, REASON, vaultFixture } from './helpers/vault-files.js';

/** Every spelling a leak could take: UTF-8, UTF-16LE, hex, base64, base64url. */
function spellings(s: string): string[] {
  const b = Buffer.from(s, 'utf8');
  return [s, Buffer.from(s, 'utf16le').toString('latin1'), b.toString('hex'), b.toString('base64'), b.toString('base64url')];
}

function expectAbsent(haystack: Buffer | string, canaries: string[], where: string): void {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : haystack;
  for (const c of canaries) for (const form of spellings(c)) expect(text.includes(form), `${c} (as ${form.slice(0, 12)}…) found in ${where}`).toBe(false);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

/** Plants the canaries through the API and exercises every path that handles them. */
async function plant(t: TestApp, tag: string) {
  const digits = String(randomInt(10_000_000, 99_999_999));
  const values = {
    email: `canary.${tag}@example.com`,
    name: `Canary Name ${tag}`,
    phone: `+49 30 ${digits}`,
    address: { street: `Canary Street ${tag}`, note: `CANARY-OBJECT-${tag}` },
  };
  const fileCanary = `CANARY-FILE-${tag}`;
  const canaries = [values.email, values.name, `+4930${digits}`, digits, values.address.street, values.address.note, fileCanary, `Renamed ${tag}`];
  const v = await vaultFixture(t, uniqueSlug('canary'));
  // A non-personal field is stored as it is: the control that proves the scans below can find a planted string.
  const control = `CONTROL-${tag}`;
  const recordId = await v.createRecord({ ...values, plan: control });
  const up = await v.upload(recordId, 'document', { declaredType: 'text/csv', fileName: 'contacts.csv', body: csv(fileCanary) });
  expect(up.statusCode, up.body).toBeLessThan(300);
  // Reads, search, update, download and refused requests all run with the canaries in play.
  const base = `/api/v1/tenants/${v.tenantId}/collections/${COLLECTION}/records`;
  expect((await v.readRecord(recordId)).fields).toMatchObject({ email: values.email, name: values.name });
  const found = await t.request({ method: 'POST', url: `${base}/search`, token: v.apiKey, body: { where: { email: values.email }, reason: REASON } });
  expect(found.json().items, found.body).toHaveLength(1);
  await t.request({ method: 'PATCH', url: `${base}/${recordId}`, token: v.apiKey, body: { fields: { name: `Renamed ${tag}` } } });
  expect((await v.download(recordId, 'document')).rawPayload.toString()).toContain(fileCanary);
  const dup = await t.request({ method: 'POST', url: base, token: v.apiKey, body: { fields: values } });
  expect(dup.statusCode).toBe(409);
  const unknown = await t.request({ method: 'POST', url: base, token: v.apiKey, body: { fields: { ...values, email: `x${values.email}`, nickname: values.name } } });
  expect(unknown.statusCode).toBeGreaterThanOrEqual(400);
  const badPhone = await t.request({ method: 'POST', url: base, token: v.apiKey, body: { fields: { email: `y${values.email}`, phone: `${values.name} ${digits}` } } });
  expect(badPhone.statusCode).toBeGreaterThanOrEqual(400);
  return { canaries, control, recordId, responses: [dup.body, unknown.body, badPhone.body] };
}

describe.each(DIALECTS)('vault canaries in depth on %s', (dialect) => {
  it('canaries in personal fields and file content are absent from the database, WAL, dump, blobs, logs and audit log', async () => {
    const logLines: string[] = [];
    const t = await testApp(dialect, { logLines });
    try {
      const tag = randomBytes(8).toString('hex');
      const { canaries, control, recordId, responses } = await plant(t, tag);
      // Error answers may name fields, never echo values.
      for (const body of responses) expectAbsent(body, canaries.filter((c) => !c.startsWith('canary.')), 'an error response');
      const events = JSON.stringify(await outboxEvents(t.custos));
      expect(events, 'the audit log refers to the record').toContain(recordId);
      expectAbsent(events, canaries, 'the audit log / outbox');
      expect(logLines.length).toBeGreaterThan(0);
      expectAbsent(logLines.join('\n'), canaries, 'the logs');
      const files = filesUnder(t.env.dataDir);
      expect(files.some((f) => f.includes(`${path.sep}blobs${path.sep}`)), 'a blob was written').toBe(true);
      for (const f of files) expectAbsent(readFileSync(f), canaries, f);
      if (dialect === 'sqlite') {
        const dbFile = path.join(t.env.dataDir, 'custos.db');
        expect(existsSync(`${dbFile}-wal`)).toBe(true);
        const before = Buffer.concat([readFileSync(dbFile), readFileSync(`${dbFile}-wal`)]).toString('latin1');
        expect(before.includes(control), 'the control value is in the database file or WAL').toBe(true);
        // Move the WAL into the main file and look again.
        const side = new Database(dbFile);
        try {
          side.pragma('wal_checkpoint(TRUNCATE)');
        } finally {
          side.close();
        }
        expect(readFileSync(dbFile).toString('latin1').includes(control), 'the control value moved into the database file').toBe(true);
        for (const f of [dbFile, `${dbFile}-wal`].filter(existsSync)) expectAbsent(readFileSync(f), canaries, `${f} after checkpoint`);
      } else {
        const dump = execFileSync('pg_dump', ['--no-owner', t.env.config.databaseUrl as string], { encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
        expect(dump).toContain('vault_records');
        expect(dump).toContain('vault_files');
        expect(dump).toContain(control);
        expectAbsent(dump, canaries, 'pg_dump');
      }
    } finally {
      await t.close();
    }
  });
});
