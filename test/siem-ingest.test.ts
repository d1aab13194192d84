import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkpointKey, verifyStoredLog, type CheckpointSigner } from '../src/audit/index.js';
import { DIALECTS, outboxEvents, testApp, testAuditSigner, uniqueSlug, type TestApp } from './helpers/app.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';
import { loadPack } from './helpers/siem-traffic.js';

type Stored = Record<string, unknown> & { custos: { action: string }; metadata: { uid: string }; unmapped: { source: Record<string, unknown>; original: Record<string, unknown> } };

const ocsfFirewallChange = (time: number) => ({
  class_uid: 3004, activity_id: 3, time, status_id: 1, severity_id: 3, activity_name: 'Update',
  metadata: { version: '1.3.0', product: { name: 'FortiGate', vendor_name: 'Fortinet' } },
  device: { type: 'Firewall', hostname: 'fw-edge-1' }, actor: { user: { uid: 'netops-7' } }, src_endpoint: { ip: '10.20.0.5' },
  message: 'firewall policy 12 edited',
});
const ecsVpnChange = (time: number) => ({
  '@timestamp': new Date(time).toISOString(), ecs: { version: '8.11.0' },
  event: { category: ['configuration'], type: ['change'], action: 'vpn-tunnel-policy-modified', outcome: 'success', module: 'asa' },
  observer: { type: 'vpn', vendor: 'Cisco', product: 'ASA', hostname: 'vpn-1' }, user: { id: 'netops-7' }, source: { ip: '10.20.0.5' },
});
const syslogLine = (time: Date, msg = 'config.xml changed: firewall rule 4 modified') =>
  `<189>1 ${time.toISOString()} fw-branch-2 pfsense 4711 config [custos@32473 category="configuration" type="change" observer="firewall" user="netops-7"] ${msg}`;
const octet = (m: string) => `${Buffer.byteLength(m)} ${m}`;

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens a TLS connection to the listener (client certificate unless `anonymous`), writes `data`, ends. */
function sendTls(pki: TestPki, port: number, data: string | Buffer, opts: { anonymous?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1', port, ca: readFileSync(pki.ca), servername: 'localhost',
      ...(opts.anonymous ? {} : { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) }),
    });
    s.on('secureConnect', () => s.end(data));
    s.resume(); // read to the end, so 'close' comes when the listener closes
    s.on('close', () => resolve());
    s.on('error', (e) => (opts.anonymous ? resolve() : reject(e)));
  });
}

describe.each(DIALECTS)('SIEM ingestion on %s', (dialect) => {
  let pkiDir: string;
  let pki: TestPki;
  let t: TestApp;
  let signer: CheckpointSigner;
  beforeAll(() => {
    pkiDir = mkdtempSync(path.join(os.tmpdir(), 'custos-ingest-pki-'));
    pki = makeTestPki(pkiDir);
  });
  afterAll(() => rmSync(pkiDir, { recursive: true, force: true }));
  afterEach(async () => {
    await t?.close();
  });

  async function start() {
    signer = testAuditSigner();
    t = await testApp(dialect, {
      auditSequencer: false,
      auditSigner: signer,
      overrides: {
        'siem.enabled': false,
        'siem.ingest.syslog': { enabled: true, port: 0, cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca, maxMessageBytes: 4096, idleTimeoutMs: 2000 },
      },
    });
    const tenant = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('ingest'), name: 'Ingest' } })).json().id as string;
    const key = async (permissions: string[]) => {
      const r = (await t.request({ method: 'POST', url: `/api/v1/tenants/${tenant}/api-keys`, body: { name: 'fw', permissions, purposes: [] } })).json() as { token: string; key: { id: string } };
      return { token: r.token, id: r.key.id };
    };
    return { tenant, ingestKey: await key(['events:ingest']), readKey: await key(['records:read']) };
  }
  const post = (token: string, body: unknown, headers: Record<string, string> = {}) => t.request({ method: 'POST', url: '/api/v1/events', token, body, headers });
  const external = async () => (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'external.event') as unknown as Stored[];

  it('an OCSF event, an ECS event and an RFC 5424 line over mutual TLS all land in the sequenced, verified log', async () => {
    const { tenant, ingestKey } = await start();
    const now = Date.now();
    const r = await post(ingestKey.token, [ocsfFirewallChange(now - 60_000), ecsVpnChange(now - 30_000)]);
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json() as { accepted: number; items: Array<{ index: number; status: string; eventId: string }> };
    expect(body.accepted).toBe(2);
    const port = t.custos.syslogIngest!.port()!;
    await sendTls(pki, port, octet(syslogLine(new Date(now - 10_000))));
    await until(() => t.custos.syslogIngest!.stats().accepted === 1);

    await t.custos.auditLog.sequencer!.tick({ checkpoint: true });
    const verified = await verifyStoredLog(t.custos.db, { verifier: checkpointKey(t.custos.config.deploymentName, signer).verifier, origin: t.custos.config.deploymentName });
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
    const rows = await t.custos.db.read((tx) => tx.selectFrom('audit_entries').select(['idx', 'event', 'tenant_id', 'actor_type', 'actor_id']).where('action', '=', 'external.event').orderBy('idx').execute());
    expect(rows).toHaveLength(3);
    const events = rows.map((row) => JSON.parse(row.event) as Stored);
    expect(events.map((e) => e.metadata.uid).slice(0, 2)).toEqual(body.items.map((i) => i.eventId));
    expect(events.map((e) => e.unmapped.source.format)).toEqual(['ocsf', 'ecs', 'syslog']);
    // API events: the key's tenant and the key as actor; syslog: platform events by the client certificate's name.
    expect(rows.map((row) => [row.tenant_id, row.actor_type, row.actor_id])).toEqual([
      [tenant, 'api_key', ingestKey.id],
      [tenant, 'api_key', ingestKey.id],
      [null, 'system', 'syslog-ingest:client'],
    ]);
    expect(events[0]).toMatchObject({ class_uid: 3004, activity_id: 3, status: 'Success', unmapped: { source: { observer_type: 'firewall', product: 'FortiGate' }, original: { device: { hostname: 'fw-edge-1' } } } });
    expect(events[1]!.unmapped.source).toMatchObject({ category: ['configuration'], type: ['change'], action: 'vpn-tunnel-policy-modified', observer_type: 'vpn' });
    expect(events[2]!.unmapped.source).toMatchObject({ app: 'pfsense', host: 'fw-branch-2', observer_type: 'firewall', message: 'config.xml changed: firewall rule 4 modified' });

    // The whole sequenced log through the built-in pack: the network-control rule fires on exactly the three ingested changes.
    const all = await t.custos.db.read((tx) => tx.selectFrom('audit_entries').select(['idx', 'event']).orderBy('idx').execute());
    const pack = loadPack();
    const matches = all.flatMap((row) => {
      const event = JSON.parse(row.event) as Record<string, unknown>;
      return pack.evaluate(event, { index: Number(row.idx), time: Number(event.time) });
    });
    expect(matches.map((m) => m.title)).toEqual(Array(3).fill('Firewall, VPN or cloud network control changed'));
    expect(matches.flatMap((m) => m.indexes)).toEqual(rows.map((row) => Number(row.idx)));
  });

  it('through the running SIEM: an ingested firewall change over the API and a VPN change over syslog each raise an alert', async () => {
    signer = testAuditSigner();
    t = await testApp(dialect, {
      auditSigner: signer,
      overrides: { 'siem.pollMs': 50, 'siem.ingest.syslog': { enabled: true, port: 0, cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca } },
    });
    const tenant = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug('ingest-e2e'), name: 'E2E' } })).json().id as string;
    const key = (await t.request({ method: 'POST', url: `/api/v1/tenants/${tenant}/api-keys`, body: { name: 'fw', permissions: ['events:ingest'], purposes: [] } })).json() as { token: string };
    const rules = (await t.request({ method: 'GET', url: '/api/v1/siem/rules' })).json() as Array<{ id: string; title: string }>;
    const rule = rules.find((r) => r.title === 'Firewall, VPN or cloud network control changed');
    expect(rule).toBeDefined();
    expect((await post(key.token, [ocsfFirewallChange(Date.now())])).statusCode).toBe(200);
    await sendTls(pki, t.custos.syslogIngest!.port()!, octet(syslogLine(new Date(), 'vpn tunnel policy edited')));
    const alerts = async () => ((await t.request({ method: 'GET', url: `/api/v1/siem/alerts?rule=${rule?.id}` })).json() as { items: Array<{ tenantId: string | null; indexes: number[] }> }).items;
    await until(async () => (await alerts()).length === 2, 10_000);
    expect((await alerts()).map((a) => a.tenantId).sort()).toEqual([tenant, null].sort());
  });

  it('a batch with bad events answers 207 with each bad item named; the good ones are stored once, even when retried', async () => {
    const { ingestKey } = await start();
    const now = Date.now();
    const batch = [ecsVpnChange(now), { hello: 'world' }, ocsfFirewallChange(now), { ...ocsfFirewallChange(now), time: 0 }, 'text', { ...ocsfFirewallChange(now), metadata: {} }];
    const headers = { 'idempotency-key': `ingest-${uniqueSlug()}` };
    const r = await post(ingestKey.token, batch, headers);
    expect(r.statusCode, r.body).toBe(207);
    const body = r.json() as { accepted: number; rejected: number; items: Array<{ index: number; status: string; code?: string }> };
    expect(body).toMatchObject({ accepted: 2, rejected: 4 });
    expect(body.items.map((i) => [i.index, i.status, i.code ?? null])).toEqual([
      [0, 'accepted', null],
      [1, 'rejected', 'EVENT_FORMAT_UNKNOWN'],
      [2, 'accepted', null],
      [3, 'rejected', 'EVENT_TIME_OUT_OF_RANGE'],
      [4, 'rejected', 'EVENT_NOT_OBJECT'],
      [5, 'rejected', 'EVENT_FIELD_MISSING'],
    ]);
    const again = await post(ingestKey.token, batch, headers);
    expect(again.statusCode).toBe(207);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(again.json()).toEqual(body);
    expect(await external()).toHaveLength(2);
    // Batch-level problems are problem+json: not an array, an empty array.
    expect((await post(ingestKey.token, { not: 'an array' })).json().code).toBe('VALIDATION_FAILED');
    expect((await post(ingestKey.token, [])).statusCode).toBe(400);
  });

  it('an API key without events:ingest gets 403 and records nothing', async () => {
    const { readKey } = await start();
    const r = await post(readKey.token, [ocsfFirewallChange(Date.now())]);
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('ACCESS_DENIED');
    expect(await external()).toHaveLength(0);
  });

  it('garbage, oversized frames, plain TCP and certificate-less clients on the syslog port are refused; the listener keeps serving', async () => {
    await start();
    const port = t.custos.syslogIngest!.port()!;
    const stats = () => t.custos.syslogIngest!.stats();
    // Not RFC 5424, a BSD line, an oversized frame, then an unrecoverable length prefix.
    await sendTls(pki, port, `GET / HTTP/1.1\n<13>Oct 11 22:14:15 host su: x\n${octet('x'.repeat(5000))}12ab34 garbage`);
    // Random bytes over TLS and over plain TCP; a client without a certificate (mutual TLS is required).
    await sendTls(pki, port, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256)));
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end(Buffer.from('\x16\x03\x01garbage-not-a-handshake')));
      s.resume();
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await sendTls(pki, port, octet(syslogLine(new Date())), { anonymous: true });
    await until(() => stats().rejected >= 3 && stats().dropped >= 2).catch((e: unknown) => {
      throw new Error(`${String(e)}: ${JSON.stringify(stats())}`);
    });
    expect(stats().accepted).toBe(0);
    // Still serving: a good line is taken, and HTTPS answers.
    await sendTls(pki, port, `${syslogLine(new Date(), 'after the storm')}\n`);
    await until(() => stats().accepted === 1);
    expect((await t.request({ method: 'GET', url: '/healthz', token: null })).statusCode).toBe(200);
    const metrics = await t.request({ method: 'GET', url: '/metrics', token: null });
    expect(metrics.body).toMatch(/custos_siem_ingest_syslog_total\{result="rejected"\} [1-9]/);
    const stored = await external();
    expect(stored.map((e) => e.unmapped.source.message)).toEqual(['after the storm']);
  });
});
