// The floor of a vault record create: the work a create cannot avoid, done in
// one thread with node:crypto and prepared better-sqlite3 statements, no HTTP,
// no framework. bench/vault.ts prints it beside the API's figure to show how
// much of the gap to the bare route is inherent.
import { createCipheriv, createHmac, hash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';

const TENANT = '01900000-0000-7000-8000-000000000000';

function open(file: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/** AES-256-GCM with a random 96-bit nonce: nonce ‖ ciphertext ‖ tag. */
function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]);
}

/**
 * Creates per second, `perCommit` creates per transaction (as the group
 * commit batches them), each: a new subject DEK wrapped under the tenant KEK
 * and stored in a separate key-store file (series + version rows); two
 * blind-index HMACs (subject lookup, unique email); four fields sealed with
 * AAD binding tenant, collection, record and field; subject, record and index
 * rows; a vault.record.create audit event through an outbox (and one
 * key.create event per commit, as for keys made ahead in batches);
 * and the sequencer's share: each event's RFC 6962 leaf hash, its entry row,
 * the outbox rows deleted. WAL and synchronous=FULL, as Custos runs SQLite.
 */
export function createFloor(seconds: number, perCommit = 50): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-floor-'));
  const main = open(path.join(dir, 'custos.db'));
  const keys = open(path.join(dir, 'keystore.db'));
  try {
    keys.exec(`CREATE TABLE series (id TEXT PRIMARY KEY, tenant_id TEXT, purpose TEXT, name TEXT, created_at TEXT);
      CREATE TABLE versions (id TEXT PRIMARY KEY, series_id TEXT, version INTEGER, wrapped BLOB, wrapped_by TEXT, state TEXT, created_at TEXT)`);
    main.exec(`CREATE TABLE subjects (tenant_id TEXT, lookup TEXT, subject_id TEXT, created_at TEXT, PRIMARY KEY (tenant_id, lookup));
      CREATE TABLE records (tenant_id TEXT, id TEXT, collection_id TEXT, subject_id TEXT, version INTEGER, sealed TEXT, plain TEXT, created_at TEXT, updated_at TEXT, PRIMARY KEY (tenant_id, id));
      CREATE TABLE record_index (tenant_id TEXT, collection_id TEXT, field TEXT, hmac TEXT, slot TEXT, record_id TEXT, subject_id TEXT, PRIMARY KEY (tenant_id, collection_id, field, hmac, slot));
      CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, recorded_at TEXT, tenant_id TEXT, event TEXT);
      CREATE TABLE entries (idx INTEGER PRIMARY KEY, event_id TEXT, recorded_at TEXT, tenant_id TEXT, event TEXT, leaf_hash BLOB)`);
    const insSeries = keys.prepare('INSERT INTO series VALUES (?, ?, ?, ?, ?)');
    const insVersion = keys.prepare("INSERT INTO versions VALUES (?, ?, 1, ?, 'kek', 'active', ?)");
    const insSubject = main.prepare('INSERT INTO subjects VALUES (?, ?, ?, ?)');
    const insRecord = main.prepare('INSERT INTO records VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)');
    const insIndex = main.prepare("INSERT INTO record_index VALUES (?, 'c', 'email', ?, '', ?, ?)");
    const insOutbox = main.prepare('INSERT INTO outbox (event_id, recorded_at, tenant_id, event) VALUES (?, ?, ?, ?)');
    const readOutbox = main.prepare('SELECT seq, event_id, recorded_at, tenant_id, event FROM outbox ORDER BY seq');
    const insEntry = main.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)');
    const delOutbox = main.prepare('DELETE FROM outbox WHERE seq <= ?');
    const kek = randomBytes(32);
    const lookupKey = randomBytes(32);
    const emailKey = randomBytes(32);
    let n = 0;
    let idx = 0;
    const event = (action: string, target: string, now: string, details: object) =>
      JSON.stringify({ action, activity_id: 1, actor: { type: 'api_key', uid: TENANT }, class_uid: 3004, details, metadata: { request_id: 'req-0123456789abcdef', version: '1.3.0' }, resources: [{ type: 'record', uid: target }], src_endpoint: { ip: '127.0.0.1' }, status: 'Success', tenant_id: TENANT, time: now });
    const one = () => {
      const i = n++;
      const now = new Date().toISOString();
      const subject = randomUUID();
      const id = randomUUID();
      const dek = randomBytes(32);
      const wrapped = seal(kek, dek, `key/${TENANT}/subject/${subject}`);
      insSeries.run(subject, TENANT, 'subject', subject, now);
      insVersion.run(randomUUID(), subject, wrapped, now);
      const lookup = createHmac('sha256', lookupKey).update(`cust-${i}`).digest('base64url');
      const email = createHmac('sha256', emailKey).update(`bench-${i}@example.test`).digest('base64url');
      const values: Record<string, string> = { customer: `cust-${i}`, email: `bench-${i}@example.test`, name: `Person ${i}`, phone: '+49301234567' };
      const sealed: Record<string, string> = {};
      for (const f in values) sealed[f] = seal(dek, Buffer.from(JSON.stringify(values[f]), 'utf8'), `${TENANT}|vault/v1/customers|${id}|${f}`).toString('base64');
      insSubject.run(TENANT, lookup, subject, now);
      insRecord.run(TENANT, id, 'c', subject, JSON.stringify(sealed), '{"plan":"pro"}', now, now);
      insIndex.run(TENANT, email, id, subject);
      // Subject keys can be created ahead in batches with one audit event each (the keyring's pool): one per commit here.
      if (i % perCommit === 0) insOutbox.run(randomUUID(), now, TENANT, event('key.create', subject, now, { purpose: 'subject', count: perCommit }));
      insOutbox.run(randomUUID(), now, TENANT, event('vault.record.create', id, now, { collection: 'customers', fields: ['customer', 'email', 'name', 'phone', 'plan'], subjectId: subject, version: 1 }));
    };
    const sequence = () => {
      let last = 0;
      for (const r of readOutbox.all() as Array<{ seq: number; event_id: string; recorded_at: string; tenant_id: string; event: string }>) {
        const bytes = Buffer.from(`\u0000${r.event}`, 'utf8');
        insEntry.run(idx++, r.event_id, r.recorded_at, r.tenant_id, r.event, hash('sha256', bytes, 'buffer'));
        last = r.seq;
      }
      delOutbox.run(last);
    };
    const batch = main.transaction((k: number) => {
      for (let i = 0; i < k; i++) one();
    });
    const keyTx = keys.transaction((fn: () => void) => fn());
    const seqTx = main.transaction(sequence);
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      keyTx(() => batch(perCommit));
      seqTx();
    }
    return n / ((performance.now() - start) / 1000);
  } finally {
    main.close();
    keys.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
