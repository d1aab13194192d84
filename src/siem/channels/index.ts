/**
 * Builds the notification senders from `siem.notifications`: reads the CA
 * files and the secrets (from the named environment variables) once, at
 * start; a missing secret fails the start (SIEM_SECRET_MISSING), never a
 * send. Secrets are held as Buffers and never logged.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../../shared/clock.js';
import { siemErrors } from '../errors.js';
import type { Sender } from '../notifier.js';
import type { SiemConfig } from '../rules.js';
import { EmailSender } from './email.js';
import { SyslogSender } from './syslog.js';
import { WebhookSender } from './webhook.js';

const MIN_SECRET_BYTES = 32;

export interface SenderDeps {
  clock: Clock;
  env: NodeJS.ProcessEnv;
  readFile?: (path: string) => Buffer;
}

export function createSenders(config: SiemConfig['notifications'], deps: SenderDeps): Sender[] {
  const read = (what: string, p: string) => {
    try {
      return (deps.readFile ?? ((f: string) => readFileSync(f)))(p);
    } catch (e) {
      throw siemErrors.fileUnreadable(what, p, (e as NodeJS.ErrnoException).code ?? 'unreadable');
    }
  };
  const senders: Sender[] = [];
  const { webhook, email, syslog } = config;
  if (webhook) {
    const secret = deps.env[webhook.secretEnv];
    if (!secret || Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw siemErrors.secretMissing('webhook secret', webhook.secretEnv);
    senders.push(
      new WebhookSender({
        url: webhook.url,
        secret: Buffer.from(secret, 'utf8'),
        ca: webhook.ca ? read('webhook ca', webhook.ca) : undefined,
        timeoutMs: webhook.timeoutMs,
        minSeverity: webhook.minSeverity,
        clock: deps.clock,
      }),
    );
  }
  if (email) {
    let auth: { user: string; pass: string } | undefined;
    if (email.userEnv && email.passwordEnv) {
      const user = deps.env[email.userEnv];
      const pass = deps.env[email.passwordEnv];
      if (!user) throw siemErrors.secretMissing('smtp user', email.userEnv);
      if (!pass) throw siemErrors.secretMissing('smtp password', email.passwordEnv);
      auth = { user, pass };
    }
    senders.push(
      new EmailSender({
        host: email.host,
        port: email.port,
        secure: email.secure,
        requireTls: email.requireTls,
        ca: email.ca ? read('smtp ca', email.ca) : undefined,
        auth,
        from: email.from,
        to: email.to,
        minSeverity: email.minSeverity,
        timeoutMs: email.timeoutMs,
      }),
    );
  }
  if (syslog) {
    senders.push(
      new SyslogSender({
        host: syslog.host,
        port: syslog.port,
        ca: read('syslog ca', syslog.ca),
        serverName: syslog.serverName,
        hostname: syslog.hostname,
        appName: syslog.appName,
        facility: syslog.facility,
        minSeverity: syslog.minSeverity,
        clock: deps.clock,
      }),
    );
  }
  return senders;
}
