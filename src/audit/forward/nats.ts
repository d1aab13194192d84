/**
 * NATS JetStream: each entry is published to `<prefix>.entries` (payload: the
 * stored event JSON; headers `Nats-Msg-Id` = event id for server-side
 * deduplication, `Custos-Index`, `Custos-Leaf-Hash`), each checkpoint to
 * `<prefix>.checkpoints`; a batch counts once every PubAck came back. The
 * stream is created, or its subjects extended, when the connection opens.
 */
import { createHash } from 'node:crypto';
import {
  connect,
  credsAuthenticator,
  headers,
  nanos,
  StorageType,
  type JetStreamClient,
  type NatsConnection,
  type NatsError,
  type PubAck,
} from 'nats';
import { forwardError, netReason } from './errors.js';
import type { ForwardBatch, Transport } from './types.js';

export interface NatsTransportOptions {
  servers: string[];
  /** JetStream stream name (default CUSTOS_AUDIT). */
  stream?: string;
  /** Subject prefix (default `custos.audit`): entries on `<prefix>.entries`, checkpoints on `<prefix>.checkpoints`. */
  subjectPrefix?: string;
  /** PEM material; when given (or `requireTls`), the connection must be TLS. */
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined;
  /** Refuse a plaintext connection (default true). */
  requireTls?: boolean;
  /** NATS credentials file contents (JWT + NKey seed). */
  creds?: Uint8Array | undefined;
  /** Connect and PubAck timeout (default 10 s). */
  timeoutMs?: number;
  /** JetStream duplicate window for a new stream (default 2 min). */
  duplicateWindowMs?: number;
}

interface Session {
  nc: NatsConnection;
  js: JetStreamClient;
}

const STREAM_NOT_FOUND = 10059;

function natsFailure(e: unknown, what: string): Error {
  const code = (e as NatsError | undefined)?.code;
  if (code === 'TIMEOUT' || code === '503') return forwardError('TIMEOUT', `nats ${what}: no acknowledgement in time`);
  if (code === 'CONNECTION_REFUSED' || code === 'CONNECTION_CLOSED' || code === 'DISCONNECT' || code === 'CONNECTION_DRAINING') {
    return forwardError('CONNECTION_LOST', `nats ${what}: ${code}`);
  }
  return forwardError('REJECTED', `nats ${what}: ${netReason(e)}`);
}

export class NatsTransport implements Transport {
  readonly kind = 'nats';
  readonly #o: NatsTransportOptions;
  readonly #stream: string;
  readonly #prefix: string;
  #current: Session | undefined;
  #opening: Promise<Session> | undefined;
  #closed = false;

  constructor(options: NatsTransportOptions) {
    this.#o = options;
    this.#stream = options.stream ?? 'CUSTOS_AUDIT';
    this.#prefix = options.subjectPrefix ?? 'custos.audit';
  }

  get subjects(): { entries: string; checkpoints: string } {
    return { entries: `${this.#prefix}.entries`, checkpoints: `${this.#prefix}.checkpoints` };
  }

  async send(batch: ForwardBatch): Promise<void> {
    if (this.#closed) throw forwardError('CLOSED', 'nats transport is closed');
    const { js } = await this.#connection();
    const timeout = this.#o.timeoutMs ?? 10_000;
    const acks: Promise<PubAck>[] = batch.entries.map((e) => {
      const h = headers();
      h.set('Custos-Index', String(e.index));
      h.set('Custos-Leaf-Hash', e.leafHash);
      return js.publish(this.subjects.entries, Buffer.from(e.eventJson, 'utf8'), { msgID: e.eventId, headers: h, timeout });
    });
    if (batch.checkpoint) {
      const { size, note } = batch.checkpoint;
      const id = `checkpoint-${size}-${createHash('sha256').update(note).digest('hex').slice(0, 32)}`;
      acks.push(js.publish(this.subjects.checkpoints, Buffer.from(JSON.stringify({ size, note }), 'utf8'), { msgID: id, timeout }));
    }
    const results = await Promise.allSettled(acks);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw this.#closed ? forwardError('CLOSED', 'nats transport closed') : natsFailure(failed.reason, 'publish');
  }

  async close(): Promise<void> {
    this.#closed = true;
    const session = this.#current ?? (await this.#opening?.catch(() => undefined));
    this.#current = undefined;
    await session?.nc.close().catch(() => undefined);
  }

  #connection(): Promise<Session> {
    if (this.#current && !this.#current.nc.isClosed()) return Promise.resolve(this.#current);
    this.#current = undefined;
    this.#opening ??= this.#open()
      .then((s) => (this.#current = s))
      .finally(() => {
        this.#opening = undefined;
      });
    return this.#opening;
  }

  async #open(): Promise<Session> {
    const o = this.#o;
    const wantTls = o.requireTls !== false || o.tls !== undefined;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: o.servers,
        name: 'custos-audit-forwarder',
        // Reconnection is the forwarder's (with its backoff); a dead connection makes the next send open a new one.
        reconnect: false,
        timeout: o.timeoutMs ?? 10_000,
        ...(wantTls ? { tls: { ca: o.tls?.ca, cert: o.tls?.cert, key: o.tls?.key } } : {}),
        ...(o.creds ? { authenticator: credsAuthenticator(o.creds) } : {}),
      });
    } catch (e) {
      throw forwardError('CONNECT_FAILED', `nats connect failed: ${(e as NatsError).code ?? netReason(e)}`);
    }
    try {
      if (this.#closed) throw forwardError('CLOSED', 'nats transport closed');
      await this.#ensureStream(nc);
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw this.#closed ? forwardError('CLOSED', 'nats transport closed') : natsFailure(e, `stream ${this.#stream}`);
    }
    return { nc, js: nc.jetstream({ timeout: o.timeoutMs ?? 10_000 }) };
  }

  async #ensureStream(nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager({ timeout: this.#o.timeoutMs ?? 10_000 });
    const wanted = [this.subjects.entries, this.subjects.checkpoints];
    try {
      const info = await jsm.streams.info(this.#stream);
      const missing = wanted.filter((s) => !info.config.subjects.includes(s));
      if (missing.length > 0) await jsm.streams.update(this.#stream, { ...info.config, subjects: [...info.config.subjects, ...missing] });
    } catch (e) {
      if ((e as NatsError).api_error?.err_code !== STREAM_NOT_FOUND) throw e;
      await jsm.streams.add({
        name: this.#stream,
        subjects: wanted,
        storage: StorageType.File,
        duplicate_window: nanos(this.#o.duplicateWindowMs ?? 120_000),
      });
    }
  }
}
