import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createCursorStore,
  createForwarder,
  createForwarders,
  LAG_GAUGE,
  MemoryLogSource,
  type ForwardBatch,
  type Forwarder,
  type LogSource,
  type Transport,
} from '../src/audit/forward/index.js';
import { ed25519PrivateKeyFromSeed } from '../src/audit/log/index.js';
import { loadConfig } from '../src/config/index.js';
import type { Db } from '../src/db/index.js';
import { createMetrics } from '../src/server/metrics.js';
import { DIALECTS } from './helpers/app.js';
import { testDb } from './helpers/db.js';
import { fakeEvents, sourceWith, waitFor } from './helpers/forward.js';

/** Records batches; can fail a number of sends, or hang until closed. */
class FakeTransport implements Transport {
  readonly kind = 'fake';
  readonly batches: ForwardBatch[] = [];
  failures = 0;
  failWith: Error = new Error('refused');
  hang = false;
  #pending = new Set<(e: Error) => void>();

  async send(batch: ForwardBatch): Promise<void> {
    if (this.hang) return new Promise((_, reject) => this.#pending.add(reject));
    if (this.failures > 0) {
      this.failures -= 1;
      throw this.failWith;
    }
    this.batches.push(batch);
  }

  async close(): Promise<void> {
    for (const reject of this.#pending) reject(new Error('closed'));
    this.#pending.clear();
  }

  get indexes(): number[] {
    return this.batches.flatMap((b) => b.entries.map((e) => e.index));
  }
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe.each(DIALECTS)('audit forwarder runtime on %s', (dialect) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  const started: Forwarder[] = [];
  beforeEach(async () => {
    ({ db, cleanup } = await testDb(dialect));
  });
  afterEach(async () => {
    for (const f of started.splice(0)) await f.stop();
    await cleanup();
  });

  const forwarder = (source: LogSource, transport: Transport, extra: Partial<Parameters<typeof createForwarder>[0]> = {}) => {
    const f = createForwarder({ name: 'fwd-a', transport, source, cursors: createCursorStore(db, { now: () => new Date() }), batchSize: 10, ...extra });
    started.push(f);
    return f;
  };

  it('cursor store: upsert, never backwards', async () => {
    const store = createCursorStore(db, { now: () => new Date('2026-01-01T00:00:00Z') });
    expect(await store.get('x')).toBeUndefined();
    await store.advance('x', { nextIndex: 10, checkpointSize: 4 });
    await store.advance('x', { nextIndex: 12, checkpointSize: 4 });
    expect(await store.get('x')).toEqual({ nextIndex: 12, checkpointSize: 4 });
    await store.advance('x', { nextIndex: 3, checkpointSize: 9 });
    expect(await store.get('x')).toEqual({ nextIndex: 12, checkpointSize: 9 });
    await store.advance('y', { nextIndex: 2 ** 40, checkpointSize: 0 });
    expect(await store.get('y')).toEqual({ nextIndex: 2 ** 40, checkpointSize: 0 });
    expect(await store.get('x')).toEqual({ nextIndex: 12, checkpointSize: 9 });
  });

  it('resumes from the durable cursor after a restart (new forwarder, new transport)', async () => {
    const source = sourceWith(35);
    const first = new FakeTransport();
    const a = forwarder(source, first);
    expect(await a.tick()).toMatchObject({ ok: true, sent: 10 });
    expect(await a.tick()).toMatchObject({ ok: true, sent: 10, lag: 15 });
    await a.stop();

    const second = new FakeTransport();
    const b = forwarder(source, second);
    while (((await b.tick()) as { sent: number }).sent > 0);
    expect(first.indexes).toEqual(range(20));
    expect(second.indexes).toEqual(range(15, 20));
    expect(b.status()).toMatchObject({ nextIndex: 35, lag: 0, failures: 0, lastError: null });
    expect(await createCursorStore(db, { now: () => new Date() }).get('fwd-a')).toEqual({ nextIndex: 35, checkpointSize: 0 });
  });

  it('a failed send does not advance the cursor; the same entries go again', async () => {
    const source = sourceWith(5);
    const t = new FakeTransport();
    t.failures = 2;
    const f = forwarder(source, t);
    expect(await f.tick()).toMatchObject({ ok: false });
    expect(await f.tick()).toMatchObject({ ok: false });
    expect(await createCursorStore(db, { now: () => new Date() }).get('fwd-a')).toBeUndefined();
    expect(await f.tick()).toMatchObject({ ok: true, sent: 5 });
    expect(t.indexes).toEqual(range(5));
  });

  it('backoff grows with each failure up to the cap and resets after a success', async () => {
    const t = new FakeTransport();
    t.failures = 9;
    const source = sourceWith(3);
    const f = forwarder(source, t, { random: () => 0.999999, backoff: { baseMs: 100, maxMs: 3000 } });
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) delays.push(((await f.tick()) as { retryInMs: number }).retryInMs);
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3000, 3000, 3000, 3000]);
    expect(f.status()).toMatchObject({ failures: 9, retryInMs: 3000 });
    expect(await f.tick()).toMatchObject({ ok: true, sent: 3 });
    expect(f.status()).toMatchObject({ failures: 0, retryInMs: 0, lastError: { code: 'AUDIT_FORWARD_FAILED' } });
    // After the reset, the next failure starts again from the base delay.
    t.failures = 1;
    source.append(fakeEvents(1));
    expect(await f.tick()).toMatchObject({ ok: false, retryInMs: 100 });
  });

  it('exports the lag as custos_audit_forwarder_lag{forwarder}', async () => {
    const metrics = createMetrics();
    const source = sourceWith(25);
    const f = forwarder(source, new FakeTransport(), { metrics });
    const lag = async () => (await metrics.registry.getSingleMetric(LAG_GAUGE)!.get()).values.find((v) => v.labels.forwarder === 'fwd-a')?.value;
    await f.tick();
    expect(await lag()).toBe(15);
    source.append(fakeEvents(7));
    await f.tick();
    expect(await lag()).toBe(12);
    await f.tick();
    await f.tick();
    expect(await lag()).toBe(0);
    expect(await metrics.registry.metrics()).toContain('custos_audit_forwarder_lag{forwarder="fwd-a"} 0');
  });

  it('forwards each newer checkpoint once, with entries or alone', async () => {
    const signer = { name: 'test.example/log', privateKey: ed25519PrivateKeyFromSeed(Buffer.alloc(32, 7)) };
    const source = sourceWith(4);
    const cp4 = await source.sign('test.example/log', signer);
    const t = new FakeTransport();
    const f = forwarder(source, t);
    await f.tick();
    expect(t.batches[0]).toMatchObject({ checkpoint: cp4 });
    expect(t.batches[0]!.entries).toHaveLength(4);
    expect(await f.tick()).toMatchObject({ ok: true, sent: 0, checkpoint: false });
    const cp4again = await source.sign('test.example/log', signer);
    expect(cp4again.size).toBe(4);
    expect(await f.tick()).toMatchObject({ sent: 0, checkpoint: false });
    source.append(fakeEvents(2));
    const cp6 = await source.sign('test.example/log', signer);
    await f.tick();
    expect(t.batches.at(-1)).toMatchObject({ checkpoint: cp6 });
    source.setCheckpoint({ size: 9, note: 'ahead of the entries' });
    expect(await f.tick()).toMatchObject({ sent: 0, checkpoint: true });
    expect(f.status().checkpointSize).toBe(9);
  });

  it('stops at a gap in the source and never skips it', async () => {
    const inner = sourceWith(5);
    const gappy: LogSource = {
      latestIndex: () => inner.latestIndex(),
      latestCheckpoint: () => inner.latestCheckpoint(),
      entriesAfter: async (i, n) => (await inner.entriesAfter(i, n)).filter((e) => e.index !== 2),
    };
    const t = new FakeTransport();
    const f = forwarder(gappy, t, { batchSize: 2 });
    expect(await f.tick()).toMatchObject({ ok: true, sent: 2 });
    expect(await f.tick()).toMatchObject({ ok: false, error: { code: 'AUDIT_FORWARD_SOURCE_GAP' } });
    expect(await f.tick()).toMatchObject({ ok: false, error: { code: 'AUDIT_FORWARD_SOURCE_GAP' } });
    expect(t.indexes).toEqual([0, 1]);
    expect(f.status().nextIndex).toBe(2);
  });

  it('keeps no credentials in the last error', async () => {
    const t = new FakeTransport();
    t.failures = 1;
    t.failWith = new Error('POST https://user:hunter2@example.invalid/in?token=s3cret failed');
    const f = forwarder(sourceWith(1), t);
    await f.tick();
    const shown = JSON.stringify(f.status());
    expect(shown).not.toMatch(/hunter2|s3cret/);
    expect(f.status().lastError).toMatchObject({ code: 'AUDIT_FORWARD_FAILED' });
  });

  it('runs in the background: picks up new entries, wake() ends an idle pause, stop() aborts a hung send', async () => {
    const source = sourceWith(3);
    const t = new FakeTransport();
    const f = forwarder(source, t, { pollIntervalMs: 60_000 });
    f.start();
    await waitFor(() => t.indexes.length === 3, 5000, 'first entries');
    source.append(fakeEvents(2));
    f.wake();
    await waitFor(() => t.indexes.length === 5, 5000, 'entries after wake');
    t.hang = true;
    source.append(fakeEvents(1));
    f.wake();
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await f.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(f.status()).toMatchObject({ running: false, nextIndex: 5 });
  });
});

describe('createForwarders from configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-fwd-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const config = (forwarders: unknown[]) => loadConfig({ env: {}, overrides: { dataDir: dir, 'audit.forwarders': forwarders } });
  const https = { type: 'https', name: 'siem', url: 'https://127.0.0.1:9/in' };

  it('fails closed: a secret is required, never defaulted, and never printed', () => {
    expect(() => config([https])).toThrow(/audit\.forwarders\.0\.secret: give exactly one of secret and secretFile/);
    expect(() => config([{ ...https, secret: 'short' }])).toThrow(/at least 32 characters/);
    expect(() => config([{ ...https, url: 'http://127.0.0.1/in', secret: 'x'.repeat(32) }])).toThrow(/https/);
    expect(() => config([{ ...https, secret: 'x'.repeat(32) }, { ...https, secret: 'y'.repeat(32) }])).toThrow(/unique/);
    expect(() => config([{ type: 'syslog', name: 's', host: '127.0.0.1' }])).toThrow(/audit\.forwarders\.0\.ca/);
    expect(() => config([{ type: 'nats', name: 'n', servers: ['nats://127.0.0.1:4222'], insecurePlaintext: true, ca: '/x' }])).toThrow(/insecurePlaintext/);
    const ok = config([{ ...https, secret: 'S'.repeat(40) }]);
    expect(JSON.stringify(ok)).not.toContain('S'.repeat(40));
    expect(JSON.stringify(ok)).toContain('[redacted]');
    expect(ok.audit.forwarders[0]).toMatchObject({ batchSize: 500, format: 'ocsf', timeoutMs: 10_000 });
  });

  it('reads the secret file once at start and refuses missing or short ones', () => {
    const source = new MemoryLogSource();
    const db = {} as Db;
    expect(() => createForwarders(config([{ ...https, secretFile: path.join(dir, 'nope') }]).audit.forwarders, { source, db })).toThrow(
      expect.objectContaining({ code: 'AUDIT_FORWARD_FILE_UNREADABLE' }),
    );
    writeFileSync(path.join(dir, 'short'), 'tooshort\n');
    expect(() => createForwarders(config([{ ...https, secretFile: path.join(dir, 'short') }]).audit.forwarders, { source, db })).toThrow(
      expect.objectContaining({ code: 'AUDIT_FORWARD_SECRET_INVALID' }),
    );
    writeFileSync(path.join(dir, 'good'), `${'k'.repeat(48)}\n`);
    const set = createForwarders(config([{ ...https, secretFile: path.join(dir, 'good') }]).audit.forwarders, { source, db });
    expect(set.status()).toEqual([expect.objectContaining({ name: 'siem', kind: 'https', running: false })]);
  });
});
