/**
 * Webhook notifications: `POST <url>` with the alert JSON, signed like the
 * audit forwarder's batches and integrations' payloads —
 * `Custos-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>` —
 * plus `Custos-Delivery: <notification id>` for deduplication (delivery is at
 * least once). Any 2xx acknowledges; redirects are not followed.
 */
import http from 'node:http';
import https from 'node:https';
import type { Severity } from '../../audit/index.js';
import { signBody } from '../../audit/forward/index.js';
import type { Clock } from '../../shared/clock.js';
import { siemErrors } from '../errors.js';
import type { Sender } from '../notifier.js';

export interface WebhookOptions {
  url: string;
  secret: Buffer;
  ca?: Buffer | undefined;
  timeoutMs: number;
  minSeverity: Severity;
  clock: Clock;
}

export class WebhookSender implements Sender {
  readonly name = 'webhook';
  readonly minSeverity: Severity;
  readonly #o: WebhookOptions;
  readonly #url: URL;
  readonly #agent: http.Agent;

  constructor(options: WebhookOptions) {
    this.#o = options;
    this.minSeverity = options.minSeverity;
    this.#url = new URL(options.url);
    this.#agent =
      this.#url.protocol === 'https:' ? new https.Agent({ keepAlive: true, ca: options.ca, minVersion: 'TLSv1.2' }) : new http.Agent({ keepAlive: true });
  }

  send(n: { id: string; payload: string }): Promise<void> {
    const where = `${this.#url.host}${this.#url.pathname}`;
    const t = Math.floor(this.#o.clock.now().getTime() / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(n.payload)),
      'Custos-Signature': signBody(this.#o.secret, t, n.payload),
      'Custos-Delivery': n.id,
      'Custos-Event': 'siem.alert',
    };
    const request = this.#url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(this.#url, { method: 'POST', agent: this.#agent, headers });
      const timer = setTimeout(() => req.destroy(siemErrors.notifyFailed('webhook', `POST ${where} timed out`)), this.#o.timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      req.on('error', (e) => done(e.name === 'CustosError' ? e : siemErrors.notifyFailed('webhook', `POST ${where} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      req.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () => done(status >= 200 && status < 300 ? undefined : siemErrors.notifyFailed('webhook', `POST ${where} answered ${status}`)));
        res.on('error', () => done(siemErrors.notifyFailed('webhook', `POST ${where} response failed`)));
      });
      req.end(n.payload);
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}
