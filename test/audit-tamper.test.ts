/**
 * Tamper battery (SQLite only: it edits a copy of the database file through a
 * raw connection that drops the append-only triggers, which is how an
 * attacker with the file would bypass them). Each case runs the real CLI:
 * `custos audit verify` must exit 1 and name the first bad index.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createPrivateKey, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointKey, signerFromPrivateKey, signTreeHead } from '../src/audit/index.js';
import { CompactRange, leafHash } from '../src/audit/log/index.js';
import { createCustos } from '../src/main.js';
import { systemContext } from '../src/shared/context.js';
import { testEnv, type TestEnv } from './helpers/app.js';
import { runCli } from './helpers/cli.js';
import { createLogger } from '../src/logger.js';

const SEED = Buffer.alloc(32, 7);
const PRIVATE = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]), format: 'der', type: 'pkcs8' });
const SIGNER = signerFromPrivateKey(PRIVATE);
const ENTRIES = 40;

let env: TestEnv;
let work: string;
let vkey: string;
let witnessFile: string;
const origin = 'custos.local/audit';

beforeAll(async () => {
  env = await testEnv('sqlite');
  work = mkdtempSync(path.join(os.tmpdir(), 'custos-tamper-'));
  const custos = await createCustos(env.config, { logger: createLogger('silent'), auditSigner: SIGNER, auditSequencer: false });
  const seq = custos.auditLog.sequencer!;
  await seq.tick({ checkpoint: true });
  const start = (await custos.db.read((tx) => tx.selectFrom('audit_entries').select('idx').execute())).length;
  // One checkpoint per entry, so every checkpoint-level fault localises to one index.
  for (let i = start; i < ENTRIES; i++) {
    await custos.audit.recordAlone(systemContext('tamper-test'), { classUid: 6003, activityId: 99, action: 'test.tamper', kind: 'system', outcome: 'success', details: { i } });
    await seq.tick({ checkpoint: true });
    if (i === 20) {
      const note = (await custos.db.read((tx) => tx.selectFrom('audit_checkpoints').select('note').where('size', '=', 21).executeTakeFirstOrThrow())).note;
      witnessFile = path.join(work, 'witness-21.txt');
      writeFileSync(witnessFile, note);
    }
  }
  vkey = (await custos.auditLog.currentKey()).verifierKey;
  await custos.close();
}, 120_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await env.cleanup();
});

/** A copy of the data directory's database, changed by `tamper` through a raw connection without triggers. */
function tamperedCopy(name: string, tamper: (db: BetterSqlite3.Database) => void): string {
  const target = mkdtempSync(path.join(work, `${name}-`));
  for (const suffix of ['', '-wal']) {
    const from = path.join(env.dataDir, `custos.db${suffix}`);
    if (existsSync(from)) copyFileSync(from, path.join(target, `custos.db${suffix}`));
  }
  const db = new BetterSqlite3(path.join(target, 'custos.db'));
  for (const t of ['audit_entries_no_update', 'audit_entries_no_delete', 'audit_checkpoints_no_update', 'audit_checkpoints_no_delete', 'audit_nodes_no_delete']) {
    db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  }
  tamper(db);
  db.close();
  return target;
}

function verify(dataDir: string, extra: string[] = []) {
  return runCli(['audit', 'verify', '--key', vkey, ...extra], { CUSTOS_DATA_DIR: dataDir, CUSTOS_LOG_LEVEL: 'silent' });
}

function rowAt(db: BetterSqlite3.Database, idx: number) {
  return db.prepare('SELECT * FROM audit_entries WHERE idx = ?').get(idx) as Record<string, unknown> & { event: string; leaf_hash: Buffer };
}

describe('audit verify on a tampered SQLite copy (real CLI)', () => {
  it('the untouched copy verifies: exit 0 with count and root', () => {
    const r = verify(tamperedCopy('clean', () => {}));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok: ${ENTRIES} entries, root [A-Za-z0-9+/]{43}=`));
    expect(r.stderr).toMatch(/verify: \d+\/\d+ entries/);
  });

  it.each([
    ['one byte of an event changed', 7, 'changed-entry', (db: BetterSqlite3.Database) => {
      const e = rowAt(db, 7);
      db.prepare('UPDATE audit_entries SET event = ? WHERE idx = 7').run(e.event.replace('"i":', '"j":'));
    }],
    ['an entry deleted', 12, 'missing-entry', (db: BetterSqlite3.Database) => db.exec('DELETE FROM audit_entries WHERE idx = 12')],
    ['an entry inserted (later ones renumbered, leaf hash forged to match)', 15, 'root-mismatch', (db: BetterSqlite3.Database) => {
      db.exec('UPDATE audit_entries SET idx = idx + 1000000 WHERE idx >= 15');
      db.exec('UPDATE audit_entries SET idx = idx - 1000000 + 1 WHERE idx >= 1000000');
      const forged = JSON.stringify({ forged: true });
      const src = rowAt(db, 14);
      db.prepare('INSERT INTO audit_entries (idx, event_id, recorded_at, tenant_id, class_uid, activity_id, action, actor_type, actor_id, target_type, target_id, outcome, event, leaf_hash) VALUES (15, ?, ?, NULL, 6003, 99, ?, ?, ?, NULL, NULL, ?, ?, ?)')
        .run('00000000-0000-7000-8000-000000000001', src.recorded_at, 'forged', 'system', 'x', 'success', forged, leafHash(Buffer.from(forged)));
    }],
    ['two entries swapped', 20, 'root-mismatch', (db: BetterSqlite3.Database) => {
      const a = rowAt(db, 20);
      const b = rowAt(db, 25);
      db.prepare('UPDATE audit_entries SET event_id = ?, event = ?, leaf_hash = ? WHERE idx = 20').run('00000000-0000-7000-8000-0000000000aa', b.event, b.leaf_hash);
      db.prepare('UPDATE audit_entries SET event_id = ?, event = ?, leaf_hash = ? WHERE idx = 25').run(a.event_id, a.event, a.leaf_hash);
      db.prepare('UPDATE audit_entries SET event_id = ? WHERE idx = 20').run(b.event_id);
    }],
    ['the tail truncated', 35, 'truncated', (db: BetterSqlite3.Database) => db.exec('DELETE FROM audit_entries WHERE idx >= 35')],
    ['a checkpoint signature replaced', 29, 'bad-signature', (db: BetterSqlite3.Database) => {
      const { note } = db.prepare('SELECT note FROM audit_checkpoints WHERE size = 30').get() as { note: string };
      const lines = note.split('\n');
      const sig = lines[lines.length - 2] as string;
      const [dash, name, b64] = sig.split(' ');
      const raw = Buffer.from(b64 as string, 'base64');
      randomBytes(64).copy(raw, 4);
      lines[lines.length - 2] = `${dash} ${name} ${raw.toString('base64')}`;
      db.prepare('UPDATE audit_checkpoints SET note = ? WHERE size = 30').run(lines.join('\n'));
    }],
  ] as const)('%s: exit 1 naming first bad index %i (%s)', (name, index, reason, tamper) => {
    const r = verify(tamperedCopy(name.replace(/\W+/g, '-'), tamper));
    expect(r.code, r.stderr + r.stdout).toBe(1);
    expect(r.stdout).toContain(`TAMPERED: first bad index ${index} (${reason})`);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('a history rewritten and re-signed with the stolen key verifies alone but fails --against an earlier witness', () => {
    const key = checkpointKey(origin, SIGNER);
    const dir = tamperedCopy('rewritten', (db) => {
      const e = rowAt(db, 5);
      const forged = e.event.replace('"i":5', '"i":555');
      db.prepare('UPDATE audit_entries SET event = ?, leaf_hash = ? WHERE idx = 5').run(forged, leafHash(Buffer.from(forged)));
      db.exec('DELETE FROM audit_nodes; DELETE FROM audit_checkpoints');
      const rows = db.prepare('SELECT idx, leaf_hash FROM audit_entries ORDER BY idx').all() as Array<{ idx: number; leaf_hash: Buffer }>;
      const range = new CompactRange();
      const insertNode = db.prepare('INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)');
      const insertCp = db.prepare('INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)');
      for (const row of rows) {
        range.append(row.leaf_hash, (n) => n.level > 0 && insertNode.run(n.level, n.index, n.hash));
        insertCp.run(range.size, range.root(), signTreeHead(key, origin, range.size, range.root()), new Date().toISOString());
      }
    });
    const alone = verify(dir);
    expect(alone.code, alone.stdout + alone.stderr).toBe(0);
    const r = verify(dir, ['--against', witnessFile]);
    expect(r.code, r.stderr + r.stdout).toBe(1);
    expect(r.stdout).toMatch(/TAMPERED: first bad index 0 \(witness-mismatch\)/);
    const clean = verify(tamperedCopy('clean-witness', () => {}), ['--against', witnessFile]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('extends the witness of size 21');
  });

  it('could not run: exit 2 with one line (no key, unreadable witness)', () => {
    const dir = tamperedCopy('norun', () => {});
    const noKey = runCli(['audit', 'verify'], { CUSTOS_DATA_DIR: dir, CUSTOS_LOG_LEVEL: 'silent' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
    const badWitness = verify(dir, ['--against', path.join(work, 'nope.txt')]);
    expect(badWitness.code).toBe(2);
  });
});
