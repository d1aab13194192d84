import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type JsMsg, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createForwarders, type ForwarderSet, type MemoryLogSource } from '../src/audit/forward/index.js';
import { ed25519PrivateKeyFromSeed } from '../src/audit/log/index.js';
import { loadConfig } from '../src/config/index.js';
import type { Db } from '../src/db/index.js';
import { testDb } from './helpers/db.js';
import { fakeEvents, sourceWith, TcpProxy, waitFor } from './helpers/forward.js';

const NATS_PORT = 4222;

describe('NATS JetStream (cursor store on SQLite; both dialects are covered by the runtime suite)', () => {
  const tag = `${process.pid}${randomBytes(3).toString('hex')}`;
  const streams: string[] = [];
  let dir: string;
  let db: Db;
  let cleanupDb: () => Promise<void>;
  let nc: NatsConnection;
  let proxy: TcpProxy;
  let set: ForwarderSet | undefined;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-fwd-nats-'));
    ({ db, cleanup: cleanupDb } = await testDb('sqlite'));
    nc = await connect({ servers: `nats://127.0.0.1:${NATS_PORT}` });
  });
  afterEach(async () => {
    await set?.stop();
    set = undefined;
    await proxy?.down();
  });
  afterAll(async () => {
    const jsm = await nc.jetstreamManager();
    for (const s of streams) await jsm.streams.delete(s).catch(() => false);
    await nc.close();
    await cleanupDb();
    rmSync(dir, { recursive: true, force: true });
  });

  async function forwarderTo(source: MemoryLogSource) {
    const stream = `CUSTOS_AUDIT_T${tag}_${n}`;
    const prefix = `custos.t${tag}n${n++}.audit`;
    streams.push(stream);
    proxy = new TcpProxy(NATS_PORT);
    await proxy.up();
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        'audit.forwarders': [
          { type: 'nats', name: `nats-${stream.toLowerCase()}`, servers: [`nats://127.0.0.1:${proxy.port}`], stream, subjectPrefix: prefix, insecurePlaintext: true, timeoutMs: 1000, batchSize: 50 },
        ],
      },
    });
    set = createForwarders(config.audit.forwarders, { source, db, pollIntervalMs: 20, backoff: { baseMs: 50, maxMs: 300 } });
    return { forwarder: set.forwarders[0]!, stream, prefix };
  }

  /** Every message in the stream, in stream order. */
  async function readStream(stream: string): Promise<JsMsg[]> {
    const jsm = await nc.jetstreamManager();
    const total = (await jsm.streams.info(stream)).state.messages;
    const consumer = await nc.jetstream().consumers.get(stream);
    const out: JsMsg[] = [];
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(500, total - out.length), expires: 2000 });
      for await (const m of batch) out.push(m);
    }
    return out;
  }

  it('connection cut for a while, then back: every index is in the stream exactly once (Nats-Msg-Id dedup), with the checkpoint', async () => {
    const total = 800;
    const source = sourceWith(100);
    const { forwarder, stream, prefix } = await forwarderTo(source);
    forwarder.start();
    const producer = setInterval(() => source.size < total && source.append(fakeEvents(Math.min(10, total - source.size))), 10);
    try {
      await waitFor(() => (forwarder.status().nextIndex ?? 0) >= 150, 15_000, 'first deliveries');
      await proxy.down();
      await waitFor(() => forwarder.status().failures >= 2, 10_000, 'failures while NATS is unreachable');
      expect(forwarder.status().lastError?.code).toMatch(/^AUDIT_FORWARD_(CONNECT_FAILED|CONNECTION_LOST|TIMEOUT)$/);
      await new Promise((r) => setTimeout(r, 500));
      await proxy.up();
      await waitFor(() => source.size === total && forwarder.status().nextIndex === total, 30_000, 'catch-up');
    } finally {
      clearInterval(producer);
    }
    await source.sign('test.example/log', { name: 'test.example/log', privateKey: ed25519PrivateKeyFromSeed(Buffer.alloc(32, 5)) });
    forwarder.wake();
    await waitFor(() => forwarder.status().checkpointSize === total, 10_000, 'checkpoint forwarded');

    const messages = await readStream(stream);
    const entries = messages.filter((m) => m.subject === `${prefix}.entries`);
    const stored = await source.entriesAfter(-1, total);
    expect(entries.map((m) => Number(m.headers?.get('Custos-Index')))).toEqual(Array.from({ length: total }, (_, i) => i));
    for (const m of entries) {
      const e = stored[Number(m.headers?.get('Custos-Index'))]!;
      expect(m.string()).toBe(e.eventJson);
      expect(m.headers?.get('Nats-Msg-Id')).toBe((JSON.parse(e.eventJson) as { metadata: { uid: string } }).metadata.uid);
      expect(m.headers?.get('Custos-Leaf-Hash')).toBe(e.leafHash);
    }
    const checkpoints = messages.filter((m) => m.subject === `${prefix}.checkpoints`);
    expect(checkpoints.map((m) => m.json())).toEqual([await source.latestCheckpoint()]);
  });

  it('adds its subjects to an existing stream instead of failing', async () => {
    const source = sourceWith(2);
    const stream = `CUSTOS_AUDIT_T${tag}_${n}`;
    const prefix = `custos.t${tag}n${n}.audit`;
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.entries`] });
    const { forwarder } = await forwarderTo(source);
    expect(await forwarder.tick()).toMatchObject({ ok: true, sent: 2 });
    expect((await jsm.streams.info(stream)).config.subjects.sort()).toEqual([`${prefix}.checkpoints`, `${prefix}.entries`]);
  });
});
