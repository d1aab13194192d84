import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointKey, signerFromPrivateKey } from '../src/audit/index.js';
import { consistencyProof, inclusionProof, leafHash, MemoryTree, merkleRoot, openCheckpoint, rootAt, verifyLog } from '../src/audit/log/index.js';
import { nodeReader } from '../src/audit/store.js';
import { createSequencer } from '../src/audit/sequencer/index.js';
import { openDatabase, type Db } from '../src/db/index.js';
import { createAuditRecorder } from '../src/audit/index.js';
import { systemClock } from '../src/shared/clock.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, testEnv, type TestEnv } from './helpers/app.js';

const ORIGIN = 'test.custos/audit';

async function open(env: TestEnv): Promise<Db> {
  const db = openDatabase({
    dataDir: env.dataDir,
    databaseUrl: env.config.databaseUrl,
    appRole: env.config.database.appRole,
    poolSize: 4,
    groupCommitMax: 64,
  });
  await db.migrate();
  return db;
}

function record(db: Db, n: number) {
  const audit = createAuditRecorder({ db, clock: systemClock });
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      audit.recordAlone(systemContext('test'), { classUid: 6003, activityId: 99, action: `test.event`, kind: 'system', outcome: 'success', details: { i } }),
    ),
  );
}

describe.each(DIALECTS)('audit sequencer on %s', (dialect) => {
  let env: TestEnv;
  let db: Db;
  afterEach(async () => {
    await db?.close();
    await env?.cleanup();
  });

  it('integrates the outbox: consecutive indexes, nodes, a signed checkpoint, outbox emptied', async () => {
    env = await testEnv(dialect);
    db = await open(env);
    const key = checkpointKey(ORIGIN, signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey));
    const seq = createSequencer({ db, key: async () => key, origin: ORIGIN, batchSize: 7, pollMs: 50, checkpointIntervalMs: 1000, now: () => new Date() });
    await record(db, 30);
    const r = await seq.tick({ checkpoint: true });
    expect(r.integrated).toBe(30);
    const rows = await db.read((tx) => tx.selectFrom('audit_entries').select(['idx', 'event', 'leaf_hash']).orderBy('idx').execute());
    expect(rows.map((x) => x.idx)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const leaves = rows.map((x) => leafHash(Buffer.from(x.event)));
    rows.forEach((x, i) => expect(Buffer.from(x.leaf_hash).equals(leaves[i]!)).toBe(true));
    const cps = await db.read((tx) => tx.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute());
    const last = cps[cps.length - 1]!;
    const cp = openCheckpoint(last.note, [key.verifier], ORIGIN);
    expect(cp.size).toBe(30);
    expect(cp.root.equals(merkleRoot(leaves))).toBe(true);
    expect(await db.read((tx) => tx.selectFrom('audit_outbox').selectAll().execute())).toEqual([]);
    const result = await verifyLog({
      entries: rows.map((x) => ({ index: x.idx, event: Buffer.from(x.event), leafHash: x.leaf_hash })),
      checkpoints: cps.map((c) => c.note),
      verifier: key.verifier,
      origin: ORIGIN,
    });
    expect(result.ok).toBe(true);
  });

  it('serves every root and proof from the stored nodes (levels 1-3 recomputed from leaves) exactly as the in-memory tree', async () => {
    env = await testEnv(dialect);
    db = await open(env);
    const key = checkpointKey(ORIGIN, signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey));
    const seq = createSequencer({ db, key: async () => key, origin: ORIGIN, batchSize: 13, pollMs: 50, checkpointIntervalMs: 0, now: () => new Date() });
    await record(db, 70);
    await seq.tick();
    const rows = await db.read((tx) => tx.selectFrom('audit_entries').select(['leaf_hash']).orderBy('idx').execute());
    const mem = new MemoryTree();
    mem.appendLeafHashes(rows.map((r) => r.leaf_hash));
    await db.read(async (tx) => {
      const reader = nodeReader(tx);
      for (let size = 1; size <= 70; size++) {
        expect((await rootAt(reader, size)).equals(await mem.root(size)), `root ${size}`).toBe(true);
        for (const index of [0, size >> 1, size - 1]) {
          expect(await inclusionProof(reader, index, size), `inclusion ${index}/${size}`).toEqual(await mem.inclusionProof(index, size));
        }
        for (const from of [1, size >> 1 || 1, size]) {
          expect(await consistencyProof(reader, from, size), `consistency ${from}/${size}`).toEqual(await mem.consistencyProof(from, size));
        }
      }
    });
    const stored = await db.read((tx) => tx.selectFrom('audit_nodes').select(['level']).execute());
    expect(stored.every((n) => n.level >= 4)).toBe(true);
    expect(stored.length).toBe(4 + 2 + 1); // levels 4, 5, 6 under 70 leaves
  });
});
