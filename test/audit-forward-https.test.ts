import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createForwarders, type ForwarderSet, type MemoryLogSource } from '../src/audit/forward/index.js';
import { ed25519PrivateKeyFromSeed, ed25519RawPublicKey, noteVerifier, openCheckpoint } from '../src/audit/log/index.js';
import { loadConfig } from '../src/config/index.js';
import type { Db } from '../src/db/index.js';
import { testDb } from './helpers/db.js';
import { fakeEvents, sourceWith, waitFor } from './helpers/forward.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

const SECRET = 'whsec_custos_forward_test_0123456789abcdef';

interface Received {
  entries: Array<{ index: number; leafHash: string; event: Record<string, unknown> }>;
  checkpoint?: { size: number; note: string };
}

/** An HTTPS receiver that checks Custos-Signature on every request and answers as the test says. */
class Receiver {
  mode: 'fail' | 'accept' | 'hang' | 'redirect' = 'accept';
  readonly accepted: Received[] = [];
  requests = 0;
  badSignatures = 0;
  #server: https.Server | undefined;
  #hung: Array<() => void> = [];
  port = 0;

  async start(pki: TestPki): Promise<void> {
    this.#server = https.createServer({ key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert), minVersion: 'TLSv1.2' }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#handle(String(req.headers['custos-signature'] ?? ''), Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  #verify(header: string, body: Buffer): boolean {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    if (!m) return false;
    const t = Number(m[1]);
    if (Math.abs(Date.now() / 1000 - t) > 300) return false;
    const expected = createHmac('sha256', SECRET).update(`${t}.`).update(body).digest();
    return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
  }

  #handle(signature: string, body: Buffer, res: ServerResponse): void {
    this.requests += 1;
    if (!this.#verify(signature, body)) {
      this.badSignatures += 1;
      res.writeHead(401).end();
      return;
    }
    if (this.mode === 'hang') {
      this.#hung.push(() => res.destroy());
      return;
    }
    if (this.mode === 'redirect') return void res.writeHead(302, { location: '/elsewhere' }).end();
    if (this.mode === 'fail') return void res.writeHead(503).end();
    this.accepted.push(JSON.parse(body.toString('utf8')) as Received);
    res.writeHead(204).end();
  }

  indexes(): number[] {
    return this.accepted.flatMap((r) => r.entries.map((e) => e.index));
  }

  async stop(): Promise<void> {
    for (const release of this.#hung.splice(0)) release();
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

describe('HTTPS JSON batches (cursor store on SQLite; both dialects are covered by the runtime suite)', () => {
  let dir: string;
  let pki: TestPki;
  let db: Db;
  let cleanupDb: () => Promise<void>;
  let receiver: Receiver;
  let set: ForwarderSet | undefined;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-fwd-https-'));
    pki = makeTestPki(dir);
    writeFileSync(path.join(dir, 'hmac.secret'), `${SECRET}\n`, { mode: 0o600 });
    ({ db, cleanup: cleanupDb } = await testDb('sqlite'));
  });
  afterEach(async () => {
    await set?.stop();
    set = undefined;
    await receiver.stop();
  });
  afterAll(async () => {
    await cleanupDb();
    rmSync(dir, { recursive: true, force: true });
  });

  async function forwarderTo(source: MemoryLogSource, options: Record<string, unknown> = {}) {
    receiver = new Receiver();
    await receiver.start(pki);
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        'audit.forwarders': [
          {
            type: 'https',
            name: `https-${n++}`,
            url: `https://127.0.0.1:${receiver.port}/custos/audit?token=not-for-logs`,
            secretFile: path.join(dir, 'hmac.secret'),
            ca: pki.ca,
            batchSize: 40,
            timeoutMs: 500,
            ...options,
          },
        ],
      },
    });
    set = createForwarders(config.audit.forwarders, { source, db, pollIntervalMs: 20, backoff: { baseMs: 50, maxMs: 300 } });
    return set.forwarders[0]!;
  }

  it('a receiver answering 503 for a while, then 2xx, gets every index; every request is correctly signed', async () => {
    const total = 600;
    const source = sourceWith(100);
    const signer = { name: 'test.example/log', privateKey: ed25519PrivateKeyFromSeed(Buffer.alloc(32, 3)) };
    await source.sign('test.example/log', signer);
    const forwarder = await forwarderTo(source);
    receiver.mode = 'fail';
    forwarder.start();
    const producer = setInterval(() => source.size < total && source.append(fakeEvents(Math.min(20, total - source.size))), 10);
    try {
      await waitFor(() => forwarder.status().failures >= 3, 10_000, 'failures while the receiver answers 503');
      expect(forwarder.status().lastError).toMatchObject({ code: 'AUDIT_FORWARD_REJECTED', message: expect.stringContaining('503') });
      expect(JSON.stringify(forwarder.status())).not.toMatch(/not-for-logs|whsec/);
      expect(receiver.accepted).toEqual([]);
      receiver.mode = 'accept';
      await waitFor(() => source.size === total && forwarder.status().nextIndex === total, 20_000, 'catch-up');
    } finally {
      clearInterval(producer);
    }
    expect([...new Set(receiver.indexes())].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(receiver.badSignatures).toBe(0);
    expect(receiver.requests).toBeGreaterThan(receiver.accepted.length);
    const stored = await source.entriesAfter(-1, total);
    for (const batch of receiver.accepted) {
      for (const e of batch.entries) expect(JSON.stringify(e.event)).toBe(stored[e.index]!.eventJson);
    }
    // The witness copy: the receiver can open the checkpoint with the log's public key.
    const cp = receiver.accepted.find((r) => r.checkpoint)!.checkpoint!;
    const verifier = noteVerifier('test.example/log', ed25519RawPublicKey(ed25519PrivateKeyFromSeed(Buffer.alloc(32, 3))));
    expect(openCheckpoint(cp.note, [verifier]).size).toBe(100);
    expect(forwarder.status()).toMatchObject({ failures: 0, lag: 0 });
  });

  it('format ecs sends the ECS projection', async () => {
    const forwarder = await forwarderTo(sourceWith(3), { format: 'ecs' });
    expect(await forwarder.tick()).toMatchObject({ ok: true, sent: 3 });
    const doc = receiver.accepted[0]!.entries[0]!.event as { '@timestamp': string; event: { action: string }; organization: { id: string } };
    expect(doc['@timestamp']).toMatch(/^2026-01-01T/);
    expect(doc.event.action).toBe('record.update');
    expect(doc.organization.id).toBe('0190a000-0000-7000-8000-000000000001');
  });

  it('a receiver that does not answer in time, or redirects, has not acknowledged: the batch goes again', async () => {
    const forwarder = await forwarderTo(sourceWith(5));
    receiver.mode = 'hang';
    expect(await forwarder.tick()).toMatchObject({ ok: false, error: { code: 'AUDIT_FORWARD_TIMEOUT' } });
    receiver.mode = 'redirect';
    expect(await forwarder.tick()).toMatchObject({ ok: false, error: { code: 'AUDIT_FORWARD_REJECTED' } });
    receiver.mode = 'accept';
    expect(await forwarder.tick()).toMatchObject({ ok: true, sent: 5 });
    expect(receiver.indexes()).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a receiver whose certificate is not from the configured CA', async () => {
    const forwarder = await forwarderTo(sourceWith(2), { ca: pki.otherCa });
    expect(await forwarder.tick()).toMatchObject({ ok: false, error: { code: 'AUDIT_FORWARD_CONNECT_FAILED' } });
    expect(receiver.requests).toBe(0);
  });
});
