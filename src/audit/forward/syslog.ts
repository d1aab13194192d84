/**
 * Syslog over TLS (RFC 5425) to a collector such as rsyslog: RFC 5424
 * messages, octet-counting framing, TLS ≥ 1.2 with the server verified
 * against the configured CA, one persistent connection.
 *
 * TCP has no application acknowledgement. A batch counts as delivered only
 * when its bytes were flushed to the kernel on a live connection AND that
 * connection then stayed up, with no error, reset or close from the peer,
 * for `settleMs`. A peer that goes away while our bytes are still in flight
 * resets or closes the connection within that window (a round trip), so the
 * send fails and the forwarder resends from its cursor: duplicates are
 * possible, silent loss of what the collector did not take is not. What the
 * collector took and then lost itself (a crash before its own queue reached
 * disk) is beyond any ack-less protocol; see README.md.
 */
import net from 'node:net';
import tls from 'node:tls';
import { systemClock, type Clock } from '../../shared/clock.js';
import { forwardError, netReason } from './errors.js';
import { formatCheckpoint, formatEntry, frame, type SyslogFormatOptions } from './syslog-format.js';
import type { ForwardBatch, Transport } from './types.js';

export interface SyslogTransportOptions {
  host: string;
  port: number;
  /** PEM CA bundle the server certificate must chain to. */
  ca: string | Buffer;
  /** Client certificate and key (PEM) when the collector asks for one. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** Name the server certificate must carry (default: `host`). */
  serverName?: string | undefined;
  format: SyslogFormatOptions;
  /** How long a flushed batch must see its connection stay up before it counts as delivered (default 250 ms). */
  settleMs?: number;
  connectTimeoutMs?: number;
  /** Longest wait for a write to flush (a collector that stopped reading) (default 10 s). */
  writeTimeoutMs?: number;
  clock?: Clock;
}

/** One TLS connection and whether (and why) it is gone. */
class Connection {
  lost: Error | undefined;
  readonly #watchers = new Set<(e: Error) => void>();

  constructor(readonly socket: tls.TLSSocket) {
    const lose = (why: string) => this.#lose(forwardError('CONNECTION_LOST', `syslog connection lost: ${why}`));
    socket.on('error', (e) => lose(netReason(e)));
    socket.on('end', () => lose('closed by the collector'));
    socket.on('close', () => lose('closed'));
    // A collector sends nothing; reading keeps the socket flowing so its FIN is seen.
    socket.on('data', () => {});
  }

  /** Calls `fn` once if the connection is lost; returns the unsubscribe function. */
  watch(fn: (e: Error) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }

  #lose(error: Error): void {
    if (this.lost) return;
    this.lost = error;
    this.socket.destroy();
    for (const fn of this.#watchers) fn(error);
    this.#watchers.clear();
  }

  kill(error: Error): void {
    this.#lose(error);
  }
}

export class SyslogTransport implements Transport {
  readonly kind = 'syslog';
  readonly #o: SyslogTransportOptions;
  readonly #clock: Clock;
  #conn: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #closed = false;

  constructor(options: SyslogTransportOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  async send(batch: ForwardBatch): Promise<void> {
    if (this.#closed) throw forwardError('CLOSED', 'syslog transport is closed');
    const messages = batch.entries.map((e) => frame(formatEntry(this.#o.format, e)));
    if (batch.checkpoint) messages.push(frame(formatCheckpoint(this.#o.format, batch.checkpoint, this.#clock.now())));
    if (messages.length === 0) return;
    const conn = await this.#connection();
    await this.#deliver(conn, Buffer.concat(messages));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const conn = this.#conn ?? (await this.#connecting?.catch(() => undefined));
    this.#conn = undefined;
    // Bytes already flushed still reach the collector (the kernel sends them before its FIN); in-flight sends fail.
    conn?.kill(forwardError('CLOSED', 'syslog transport closed'));
  }

  #connection(): Promise<Connection> {
    if (this.#conn && !this.#conn.lost) return Promise.resolve(this.#conn);
    this.#conn = undefined;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #connect(): Promise<Connection> {
    const o = this.#o;
    const serverName = o.serverName ?? o.host;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: o.host,
        port: o.port,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        // SNI carries names only (RFC 6066); an IP is still checked against the certificate's IP SANs.
        servername: net.isIP(serverName) ? undefined : serverName,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert),
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
      });
      const timer = setTimeout(() => fail(forwardError('TIMEOUT', `syslog connect to ${o.host}:${o.port} timed out`)), o.connectTimeoutMs ?? 10_000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      // Not `once`: a second error after the first must not go unhandled.
      const onError = (e: Error) => fail(forwardError('CONNECT_FAILED', `syslog connect to ${o.host}:${o.port} failed: ${netReason(e)}`));
      socket.on('error', onError);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        const conn = new Connection(socket);
        if (this.#closed) {
          conn.kill(forwardError('CLOSED', 'syslog transport closed'));
          reject(conn.lost);
          return;
        }
        this.#conn = conn;
        resolve(conn);
      });
    });
  }

  /** Writes, waits for the flush, then for the settle window; rejects if the connection goes meanwhile. */
  #deliver(conn: Connection, data: Buffer): Promise<void> {
    const settleMs = this.#o.settleMs ?? 250;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const unwatch = conn.watch((e) => finish(e));
      const finish = (error?: Error) => {
        clearTimeout(timer);
        unwatch();
        if (error) reject(error);
        else resolve();
      };
      if (conn.lost) return finish(conn.lost);
      timer = setTimeout(() => {
        conn.kill(forwardError('TIMEOUT', 'syslog write did not flush in time'));
      }, this.#o.writeTimeoutMs ?? 10_000);
      conn.socket.write(data, (err) => {
        clearTimeout(timer);
        if (err || conn.lost) return finish(conn.lost ?? forwardError('CONNECTION_LOST', `syslog write failed: ${netReason(err)}`));
        timer = setTimeout(() => finish(conn.lost), settleMs);
      });
    });
  }
}
