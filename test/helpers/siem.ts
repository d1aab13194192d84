import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { Custos } from '../../src/main.js';
import { createSiem, type Siem } from '../../src/siem/index.js';
import { systemContext, type RequestContext } from '../../src/shared/context.js';

/** A rule file in a fresh directory: returns its path. */
export function writeRuleFile(yaml: string, name = 'test-rules.yml'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-siem-rules-'));
  const file = path.join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/** A burst rule over `test.ping` events: three with the same `details.key` within 10 minutes. */
export const PING_RULES = `
title: Test ping
name: test_ping
id: test-ping
level: low
detection:
  sel:
    custos.action: test.ping
  condition: sel
---
title: Test ping burst
id: test-burst
level: high
correlation:
  type: event_count
  rules: [test_ping]
  group-by: [unmapped.key]
  timespan: 10m
  condition:
    gte: 3
`;

/** Records a `test.ping` audit event with `details.key` (by `ctx`, default a system job). */
export function ping(custos: Custos, key: string, ctx: RequestContext = systemContext('test')): Promise<unknown> {
  return custos.audit.recordAlone(ctx, {
    classUid: 6003,
    activityId: 99,
    action: 'test.ping',
    kind: 'system',
    outcome: 'success',
    details: { key },
  });
}

/** A second SIEM over a running Custos (whose own worker is off): tests drive its ticks and inject faults. */
export function testSiem(custos: Custos, opts: { beforeCommit?: () => void | Promise<void>; env?: NodeJS.ProcessEnv } = {}): Siem {
  return createSiem({
    config: custos.config,
    db: custos.db,
    audit: custos.audit,
    guard: custos.identity.deps.guard,
    clock: custos.identity.deps.clock,
    logger: { info() {}, warn() {} },
    sealer: custos.identity.deps.sealer,
    source: custos.auditLog.source,
    reader: custos.auditLog.reader,
    getAccount: (ctx, id) => custos.identity.getAccount(ctx, id),
    beforeCommit: opts.beforeCommit,
    env: opts.env,
  });
}

export interface WebhookHit {
  delivery: string;
  body: { type: string; alert: { id: string; ruleId: string; severity: string } };
  signatureValid: boolean;
}

/** An HTTP webhook receiver that checks the Custos-Signature HMAC; `failFirst` answers 500 that many times first. */
export async function webhookReceiver(secret: string, failFirst = 0): Promise<{ url: string; hits: WebhookHit[]; attempts: number; close: () => Promise<void> }> {
  const hits: WebhookHit[] = [];
  const state = { attempts: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.attempts += 1;
      if (state.attempts <= failFirst) {
        res.writeHead(500).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['custos-signature'] ?? ''));
      const want = m ? createHmac('sha256', secret).update(`${m[1]}.${raw}`).digest() : Buffer.alloc(32);
      const fresh = m ? Math.abs(Date.now() / 1000 - Number(m[1])) < 300 : false;
      const signatureValid = Boolean(m) && fresh && timingSafeEqual(want, Buffer.from(m?.[2] ?? '', 'hex'));
      hits.push({ delivery: String(req.headers['custos-delivery']), body: JSON.parse(raw), signatureValid });
      res.writeHead(signatureValid ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/custos`,
    hits,
    get attempts() {
      return state.attempts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Mail {
  from: string;
  to: string[];
  data: string;
}

/** An SMTP sink (smtp-server, no TLS, no auth) on a free port. */
export async function smtpSink(): Promise<{ port: number; mails: Mail[]; close: () => Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, ms: number, stepMs = 25): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
