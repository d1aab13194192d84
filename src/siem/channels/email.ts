/**
 * Email notifications over SMTP (nodemailer): STARTTLS required by default
 * (`requireTls`), or implicit TLS (`secure`), TLS ≥ 1.2 with the server
 * verified (against `ca` when given). Accepted by the server = delivered.
 * Credentials come from environment variables and are never logged.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Severity } from '../../audit/index.js';
import { siemErrors } from '../errors.js';
import type { Sender } from '../notifier.js';

export interface EmailOptions {
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  ca?: Buffer | undefined;
  auth?: { user: string; pass: string } | undefined;
  from: string;
  to: string[];
  minSeverity: Severity;
  timeoutMs: number;
}

interface Payload {
  alert: { id: string; ruleId: string; title: string; severity: string; count: number; groupKey: string; firstSeenAt: string; indexes: number[] };
}

export class EmailSender implements Sender {
  readonly name = 'email';
  readonly minSeverity: Severity;
  readonly #o: EmailOptions;
  readonly #transport: Transporter;

  constructor(options: EmailOptions) {
    this.#o = options;
    this.minSeverity = options.minSeverity;
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: !options.secure && options.requireTls,
      ignoreTLS: !options.secure && !options.requireTls,
      auth: options.auth,
      tls: { ca: options.ca, minVersion: 'TLSv1.2', rejectUnauthorized: true },
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  }

  async send(n: { id: string; payload: string }): Promise<void> {
    const { alert } = JSON.parse(n.payload) as Payload;
    const text = [
      `Custos SIEM alert ${alert.id}`,
      `Rule: ${alert.ruleId} — ${alert.title}`,
      `Severity: ${alert.severity}`,
      `Group: ${alert.groupKey}`,
      `First seen: ${alert.firstSeenAt}`,
      `Log indexes: ${alert.indexes.join(', ')}`,
      '',
      'Open the Custos console (or GET /api/v1/siem/alerts/<id>) for the inclusion proofs and to acknowledge it.',
    ].join('\n');
    try {
      await this.#transport.sendMail({
        from: this.#o.from,
        to: this.#o.to,
        subject: `[Custos] ${alert.severity} alert: ${alert.title}`,
        text,
        headers: { 'X-Custos-Delivery': n.id, 'X-Custos-Alert': alert.id },
        attachments: [{ filename: 'alert.json', content: n.payload, contentType: 'application/json' }],
      });
    } catch (e) {
      throw siemErrors.notifyFailed('email', (e as { code?: string }).code ?? (e instanceof Error ? e.message : 'send failed'));
    }
  }

  async close(): Promise<void> {
    this.#transport.close();
  }
}
