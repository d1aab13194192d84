import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSenders } from '../src/siem/channels/index.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';
import { smtpSink } from './helpers/siem.js';

/**
 * The notification channels against real receivers: syslog over TLS (RFC
 * 5424 in RFC 5425 frames) and a webhook over HTTPS, both verified against
 * the configured CA; SMTP refuses to send in clear when TLS is required;
 * missing secrets fail at start, never at a send.
 */
const clock = { now: () => new Date() };
const payload = JSON.stringify({
  type: 'custos.siem.alert',
  alert: { id: 'a1', ruleId: 'r1', title: 'Brute force', severity: 'high', groupKey: 'target_id=x', count: 1, indexes: [4, 7], firstSeenAt: '2030-01-01T00:00:00.000Z', lastSeenAt: '2030-01-01T00:00:01.000Z' },
});
const base = { maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 20 };

describe('SIEM notification channels', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki(mkdtempSync(path.join(os.tmpdir(), 'custos-siem-pki-')));
  });

  it('sends an alert to a TLS syslog collector as one RFC 5424 message in an RFC 5425 frame', async () => {
    const received: Buffer[] = [];
    const server = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => s.on('data', (d: Buffer) => received.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const [sender] = createSenders({ ...base, syslog: { host: '127.0.0.1', port, ca: pki.ca, appName: 'custos-siem', facility: 4, minSeverity: 'low' } }, { clock, env: {} });
    try {
      await sender?.send({ id: 'n1', alertId: 'a1', payload });
      const text = Buffer.concat(received).toString('utf8');
      const m = /^(\d+) (<(\d+)>1 \S+ \S+ custos-siem \S+ audit \[custos@32473 index="7" eventId="n1" leafHash="-"\] \uFEFF(.*))$/s.exec(text);
      expect(m, text).not.toBeNull();
      expect(Number(m?.[1])).toBe(Buffer.byteLength(m?.[2] ?? ''));
      expect(Number(m?.[3])).toBe(4 * 8 + 3); // facility 4, high → error (3)
      expect(JSON.parse(m?.[4] ?? '{}')).toEqual(JSON.parse(payload));
    } finally {
      await sender?.close();
      server.close();
    }
  });

  it('posts to an HTTPS webhook verified against its CA, and fails (to be retried) on one signed by another', async () => {
    let hits = 0;
    const server = https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
      hits += 1;
      req.resume();
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const env = { HOOK_SECRET: 'x'.repeat(32) };
    const hook = (ca: string) =>
      createSenders({ ...base, webhook: { url: `https://127.0.0.1:${port}/h`, secretEnv: 'HOOK_SECRET', allowHttp: false, ca, minSeverity: 'low', timeoutMs: 2000 } }, { clock, env })[0];
    const good = hook(pki.ca);
    const bad = hook(pki.otherCa);
    try {
      await good?.send({ id: 'n1', alertId: 'a1', payload });
      await expect(bad?.send({ id: 'n2', alertId: 'a1', payload })).rejects.toMatchObject({ code: 'SIEM_NOTIFY_FAILED' });
      expect(hits).toBe(1);
    } finally {
      await good?.close();
      await bad?.close();
      server.close();
    }
  });

  it('refuses to mail in clear when TLS is required, and fails at start without its secrets', async () => {
    const sink = await smtpSink();
    try {
      const email = { host: '127.0.0.1', port: sink.port, secure: false, requireTls: true, from: 'custos@example.test', to: ['soc@example.test'], minSeverity: 'high' as const, timeoutMs: 2000 };
      const [sender] = createSenders({ ...base, email }, { clock, env: {} });
      await expect(sender?.send({ id: 'n1', alertId: 'a1', payload })).rejects.toMatchObject({ code: 'SIEM_NOTIFY_FAILED' });
      expect(sink.mails).toHaveLength(0);
      await sender?.close();
      expect(() => createSenders({ ...base, email: { ...email, userEnv: 'SMTP_USER', passwordEnv: 'SMTP_PASS' } }, { clock, env: { SMTP_USER: 'u' } })).toThrow(/SMTP_PASS/);
      const webhook = { url: 'https://hooks.example.test/', secretEnv: 'NOPE', allowHttp: false, minSeverity: 'low' as const, timeoutMs: 1000 };
      expect(() => createSenders({ ...base, webhook }, { clock, env: { NOPE: 'short' } })).toThrow(expect.objectContaining({ code: 'SIEM_SECRET_MISSING' }));
    } finally {
      await sink.close();
    }
  });
});
