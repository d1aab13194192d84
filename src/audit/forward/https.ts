/**
 * HTTPS JSON batches: `POST { entries, checkpoint? }`, signed with
 * `Custos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`
 * (the Stripe webhook scheme), acknowledged by any 2xx. Redirects are not
 * followed. A batch larger than `maxBodyBytes` goes as several POSTs, in order.
 */
import { createHmac } from 'node:crypto';
import https from 'node:https';
import { systemClock, type Clock } from '../../shared/clock.js';
import { toEcs } from './ecs.js';
import { isCustosError } from '../../shared/errors.js';
import { forwardError, isConnectError, netReason } from './errors.js';
import type { ForwardBatch, ForwardEntry, Transport } from './types.js';

export const SIGNATURE_HEADER = 'Custos-Signature';

export interface HttpsTransportOptions {
  /** https:// URL of the receiver. */
  url: string;
  /** HMAC key (at least 32 bytes of secret). */
  secret: string | Buffer;
  /** PEM CA bundle for the receiver (default: the system's). */
  ca?: string | Buffer | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** `ocsf` sends the stored events; `ecs` their Elastic Common Schema projection. */
  format?: 'ocsf' | 'ecs';
  /** Largest request body; more entries go in further requests (default 1 MiB). */
  maxBodyBytes?: number;
  /** Sent as `Custos-Forwarder`, so a receiver can tell sources apart. */
  forwarderName?: string;
  clock?: Clock;
}

/** The `Custos-Signature` value for `body` at unix time `t`. */
export function signBody(secret: string | Buffer, t: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
  return `t=${t},v1=${mac}`;
}

function requestFailure(e: Error, where: string): Error {
  if (isCustosError(e)) return e;
  return forwardError(isConnectError(e) ? 'CONNECT_FAILED' : 'CONNECTION_LOST', `POST ${where} failed: ${netReason(e)}`);
}

interface WireEntry {
  index: number;
  leafHash: string;
  event: unknown;
}

export class HttpsTransport implements Transport {
  readonly kind = 'https';
  readonly #o: HttpsTransportOptions;
  readonly #url: URL;
  readonly #agent: https.Agent;
  readonly #clock: Clock;
  readonly #inflight = new Set<() => void>();
  #closed = false;

  constructor(options: HttpsTransportOptions) {
    this.#o = options;
    this.#url = new URL(options.url);
    if (this.#url.protocol !== 'https:') throw new Error('HttpsTransport needs an https:// URL');
    this.#clock = options.clock ?? systemClock;
    this.#agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: options.ca, cert: options.cert, key: options.key, minVersion: 'TLSv1.2' });
  }

  async send(batch: ForwardBatch): Promise<void> {
    for (const body of this.#bodies(batch)) await this.#post(body);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const abort of this.#inflight) abort();
    this.#agent.destroy();
  }

  /** Splits the batch into bodies under maxBodyBytes (an oversize single entry still goes alone); the checkpoint rides on the last. */
  *#bodies(batch: ForwardBatch): Generator<string> {
    const max = this.#o.maxBodyBytes ?? 1024 * 1024;
    let chunk: WireEntry[] = [];
    let bytes = 0;
    for (const entry of batch.entries) {
      const wire = this.#wire(entry);
      const size = Buffer.byteLength(JSON.stringify(wire)) + 1;
      if (chunk.length > 0 && bytes + size > max) {
        yield JSON.stringify({ entries: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push(wire);
      bytes += size;
    }
    yield JSON.stringify(batch.checkpoint ? { entries: chunk, checkpoint: batch.checkpoint } : { entries: chunk });
  }

  #wire(entry: ForwardEntry): WireEntry {
    return { index: entry.index, leafHash: entry.leafHash, event: this.#o.format === 'ecs' ? toEcs(entry.event) : entry.event };
  }

  #post(body: string): Promise<void> {
    if (this.#closed) return Promise.reject(forwardError('CLOSED', 'https transport is closed'));
    const where = `${this.#url.host}${this.#url.pathname}`;
    const t = Math.floor(this.#clock.now().getTime() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      [SIGNATURE_HEADER]: signBody(this.#o.secret, t, body),
    };
    if (this.#o.forwarderName) headers['Custos-Forwarder'] = this.#o.forwarderName;
    return new Promise((resolve, reject) => {
      const req = https.request(this.#url, { method: 'POST', agent: this.#agent, headers });
      const abort = () => req.destroy(forwardError('CLOSED', 'https transport closed'));
      // A deadline for the whole exchange, not an idle timeout: a receiver that drips bytes still times out.
      const timer = setTimeout(() => req.destroy(forwardError('TIMEOUT', `POST ${where} timed out`)), this.#o.timeoutMs ?? 10_000);
      this.#inflight.add(abort);
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.#inflight.delete(abort);
        if (error) reject(error);
        else resolve();
      };
      req.on('error', (e) => done(requestFailure(e, where)));
      req.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () => done(status >= 200 && status < 300 ? undefined : forwardError('REJECTED', `POST ${where} answered ${status}`)));
        res.on('error', (e) => done(forwardError('CONNECTION_LOST', `POST ${where} response failed: ${netReason(e)}`)));
      });
      req.end(body);
    });
  }
}
