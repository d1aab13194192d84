import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCursorStore, createForwarder, SyslogTransport, type Forwarder, type ForwardEntry, type MemoryLogSource } from '../src/audit/forward/index.js';
import { ed25519PrivateKeyFromSeed } from '../src/audit/log/index.js';
import type { Db } from '../src/db/index.js';
import { testDb } from './helpers/db.js';
import { fakeEvents, freePort, sourceWith, waitFor } from './helpers/forward.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

/** An rsyslogd of our own: foreground, own config, work directory and pid file; never the system's. */
class Rsyslog {
  #child: ChildProcess | undefined;
  readonly out: string;
  readonly #conf: string;

  constructor(
    readonly dir: string,
    readonly port: number,
    pki: TestPki,
    authMode: 'anon' | 'x509/certvalid' = 'anon',
  ) {
    this.out = path.join(dir, 'out.log');
    this.#conf = path.join(dir, 'rsyslog.conf');
    mkdirSync(path.join(dir, 'work'), { recursive: true });
    writeFileSync(
      this.#conf,
      `global(workDirectory="${dir}/work" maxMessageSize="256k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="${pki.ca}"
  defaultNetstreamDriverCertFile="${pki.serverCert}"
  defaultNetstreamDriverKeyFile="${pki.serverKey}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="${authMode}")
template(name="custosLine" type="string" string="%msgid%\\t%structured-data%\\t%msg%\\n")
ruleset(name="custos") { action(type="omfile" file="${this.out}" template="custosLine") }
input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="custos")
`,
    );
  }

  async start(): Promise<void> {
    const child = spawn('rsyslogd', ['-n', '-f', this.#conf, '-i', path.join(this.dir, 'rsyslogd.pid')], { stdio: 'ignore' });
    this.#child = child;
    await waitFor(() => this.#listening(), 10_000, 'rsyslogd to listen');
  }

  /** SIGTERM (a graceful stop, as an operator's restart), waiting for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** For cleanup on any path, including a failed test. */
  killNow(): void {
    if (this.#child && this.#child.exitCode === null) this.#child.kill('SIGKILL');
    this.#child = undefined;
  }

  #listening(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  /** Lines written so far: MSGID, structured data, MSG (BOM removed). */
  lines(): Array<{ msgId: string; sd: string; msg: string }> {
    if (!existsSync(this.out)) return [];
    return readFileSync(this.out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [msgId = '', sd = '', msg = ''] = line.split('\t');
        return { msgId, sd, msg: msg.replace(/^\uFEFF/, '') };
      });
  }

  indexes(): number[] {
    return this.lines()
      .filter((l) => l.msgId === 'audit')
      .map((l) => Number(/index="(\d+)"/.exec(l.sd)?.[1]));
  }
}

const format = { facility: 13, hostname: 'custos-test', appName: 'custos', procId: String(process.pid), sdId: 'custos@32473' };

describe('syslog over TLS to a real rsyslog (cursor store on SQLite; both dialects are covered by the runtime suite)', () => {
  let dir: string;
  let pki: TestPki;
  let rsyslog: Rsyslog;
  let db: Db;
  let cleanupDb: () => Promise<void>;
  const forwarders: Forwarder[] = [];
  const exitGuard = () => rsyslog?.killNow();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-rsyslog-'));
    pki = makeTestPki(dir);
    ({ db, cleanup: cleanupDb } = await testDb('sqlite'));
    process.once('exit', exitGuard);
  });
  afterEach(async () => {
    for (const f of forwarders.splice(0)) await f.stop();
    await rsyslog?.stop();
  });
  afterAll(async () => {
    rsyslog?.killNow();
    process.off('exit', exitGuard);
    await cleanupDb();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup(name: string, source: MemoryLogSource, opts: { ca?: string; clientCert?: boolean; authMode?: 'anon' | 'x509/certvalid' } = {}) {
    const sub = path.join(dir, name);
    mkdirSync(sub);
    rsyslog = new Rsyslog(sub, await freePort(), pki, opts.authMode);
    await rsyslog.start();
    const transport = new SyslogTransport({
      host: '127.0.0.1',
      port: rsyslog.port,
      ca: readFileSync(opts.ca ?? pki.ca),
      ...(opts.clientCert ? { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } : {}),
      format,
      settleMs: 100,
      connectTimeoutMs: 2000,
    });
    const forwarder = createForwarder({
      name,
      transport,
      source,
      cursors: createCursorStore(db, { now: () => new Date() }),
      batchSize: 50,
      pollIntervalMs: 20,
      backoff: { baseMs: 50, maxMs: 400 },
    });
    forwarders.push(forwarder);
    return forwarder;
  }

  it('delivers entries (index, event id, leaf hash in SD; OCSF JSON as MSG) and the checkpoint', async () => {
    const source = sourceWith(40);
    await source.sign('test.example/log', { name: 'test.example/log', privateKey: ed25519PrivateKeyFromSeed(Buffer.alloc(32, 1)) });
    const forwarder = await setup('basic', source);
    forwarder.start();
    await waitFor(() => rsyslog.lines().length >= 41, 15_000, 'rsyslog to write 41 lines');
    const entries = await source.entriesAfter(-1, 100);
    const byIndex = new Map(rsyslog.lines().filter((l) => l.msgId === 'audit').map((l) => [Number(/index="(\d+)"/.exec(l.sd)?.[1]), l]));
    for (const e of entries) {
      const line = byIndex.get(e.index)!;
      expect(line.msg).toBe(e.eventJson);
      expect(line.sd).toContain(`eventId="${(JSON.parse(e.eventJson) as { metadata: { uid: string } }).metadata.uid}"`);
      expect(line.sd).toContain(`leafHash="${e.leafHash}"`);
    }
    const cp = rsyslog.lines().find((l) => l.msgId === 'checkpoint')!;
    expect(JSON.parse(cp.msg)).toEqual(await source.latestCheckpoint());
  });

  it('rsyslog stopped for a while and restarted: every index arrives (duplicates allowed, none missing)', async () => {
    const total = 1500;
    const source = sourceWith(100);
    const forwarder = await setup('outage', source);
    forwarder.start();
    const producer = setInterval(() => source.size < total && source.append(fakeEvents(Math.min(10, total - source.size))), 10);
    try {
      await waitFor(() => rsyslog.indexes().length >= 150, 15_000, 'first deliveries');
      await rsyslog.stop();
      let sawFailure = false;
      await waitFor(() => (sawFailure ||= forwarder.status().failures > 0), 10_000, 'the forwarder to notice the outage');
      await new Promise((r) => setTimeout(r, 700));
      expect(forwarder.status().lastError?.code).toMatch(/^AUDIT_FORWARD_(CONNECT_FAILED|CONNECTION_LOST)$/);
      await rsyslog.start();
      await waitFor(() => source.size === total && forwarder.status().nextIndex === total, 30_000, 'the forwarder to catch up');
      const expected = Array.from({ length: total }, (_, i) => i);
      await waitFor(() => new Set(rsyslog.indexes()).size === total, 15_000, 'rsyslog to write every index');
      const seen = rsyslog.indexes();
      expect([...new Set(seen)].sort((a, b) => a - b)).toEqual(expected);
      expect(seen.length).toBeGreaterThanOrEqual(total);
    } finally {
      clearInterval(producer);
    }
  });

  it('refuses a collector whose certificate is not from the configured CA, and delivers nothing', async () => {
    const forwarder = await setup('wrong-ca', sourceWith(5), { ca: pki.otherCa });
    expect(await forwarder.tick()).toMatchObject({ ok: false, error: { code: 'AUDIT_FORWARD_CONNECT_FAILED' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(rsyslog.lines()).toEqual([]);
  });

  it('presents a client certificate to a collector that requires one (x509/certvalid); without it nothing counts as delivered', async () => {
    const forwarder = await setup('client-cert', sourceWith(3), { clientCert: true, authMode: 'x509/certvalid' });
    expect(await forwarder.tick()).toMatchObject({ ok: true, sent: 3 });
    await waitFor(() => rsyslog.indexes().length === 3, 10_000, 'rsyslog to write 3 lines');
    // Without the certificate the collector drops the connection (with TLS 1.3 only after our write): not counted.
    const anonymous = new SyslogTransport({ host: '127.0.0.1', port: rsyslog.port, ca: readFileSync(pki.ca), format, settleMs: 200 });
    try {
      const [entry] = (await sourceWith(1).entriesAfter(-1, 1)).map((e) => ({ ...e, event: JSON.parse(e.eventJson), eventId: 'anonymous' }));
      await expect(anonymous.send({ entries: [entry!] })).rejects.toMatchObject({ code: expect.stringMatching(/^AUDIT_FORWARD_CONNECT(ION_LOST|_FAILED)$/) });
    } finally {
      await anonymous.close();
    }
    expect(rsyslog.lines().some((l) => l.sd.includes('eventId="anonymous"'))).toBe(false);
  });

  it('a collector that resets the connection after our bytes were flushed: the batch is not counted (settle window)', async () => {
    let accepted = 0;
    const server = net.createServer((raw) => {
      accepted += 1;
      raw.on('error', () => {});
      const socket = new tls.TLSSocket(raw, { isServer: true, key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) });
      socket.on('error', () => {});
      // Takes the first bytes, then drops the connection with a reset: what a crashing or restarting collector does.
      socket.once('data', () => raw.resetAndDestroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const transport = new SyslogTransport({ host: '127.0.0.1', port, ca: readFileSync(pki.ca), format, settleMs: 200 });
    try {
      const entries = (await sourceWith(200).entriesAfter(-1, 200)).map(
        (e): ForwardEntry => ({ ...e, event: JSON.parse(e.eventJson), eventId: (JSON.parse(e.eventJson) as { metadata: { uid: string } }).metadata.uid }),
      );
      await expect(transport.send({ entries })).rejects.toMatchObject({ code: 'AUDIT_FORWARD_CONNECTION_LOST' });
      // The next send opens a new connection rather than writing into the dead one.
      await expect(transport.send({ entries: entries.slice(0, 1) })).rejects.toMatchObject({ code: 'AUDIT_FORWARD_CONNECTION_LOST' });
      expect(accepted).toBe(2);
    } finally {
      await transport.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
