/**
 * RFC 5425 syslog-over-TLS receiver: RFC 5424 messages, octet-counting
 * (or LF) framing, TLS ≥ 1.2, optional mutual TLS. Each connection is read
 * in order; the events a chunk yields are recorded in one unit of work
 * while the socket is paused (backpressure), so nothing is acknowledged
 * ahead of the database — though syslog has no acknowledgement anyway.
 * Bad frames are counted (and logged without their content), never fatal;
 * a framing error that cannot be resynchronised closes that connection only.
 */
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import type { Clock } from '../../shared/clock.js';
import type { RequestContext } from '../../shared/context.js';
import type { IngestService } from './service.js';
import { fromSyslog } from './syslog-event.js';
import { FrameDecoder } from './syslog-framing.js';
import { parseSyslog } from './syslog-parse.js';
import type { NormalizedEvent } from './types.js';

export interface SyslogListenerOptions {
  host: string;
  port: number;
  tls: tls.SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean };
  tenantId: string | null;
  /** Client certificate common name → tenant (mutual TLS). */
  clients: ReadonlyArray<{ commonName: string; tenantId: string }>;
  maxMessageBytes: number;
  maxConnections: number;
  idleTimeoutMs: number;
  ingest: Pick<IngestService, 'recordNormalized'>;
  clock: Clock;
  logger: Logger;
  /** Prometheus: `custos_siem_ingest_syslog_total{result}` mirrors stats() (a gauge of running totals). */
  gauge?: Gauge<string> | undefined;
}

export interface SyslogStats {
  connections: number;
  accepted: number;
  rejected: number;
  /** Connections closed for an unrecoverable framing error, a failed handshake or a failed write. */
  dropped: number;
}

export interface SyslogListener {
  start(): Promise<{ port: number }>;
  close(): Promise<void>;
  stats(): SyslogStats;
  /** The bound port while listening (the configured one, or the one picked for port 0). */
  port(): number | null;
}

export function createSyslogListener(o: SyslogListenerOptions): SyslogListener {
  const stats: SyslogStats = { connections: 0, accepted: 0, rejected: 0, dropped: 0 };
  const count = (what: keyof SyslogStats, n = 1) => {
    stats[what] += n;
    o.gauge?.set({ result: what }, stats[what]);
  };
  const sockets = new Set<tls.TLSSocket>();
  /** Each connection's write chain, awaited by close() so nothing writes after the database closes. */
  const writing = new Set<Promise<void>>();
  let seq = 0;
  const server = tls.createServer({ ...o.tls, handshakeTimeout: 10_000 }, (socket) => serve(socket));
  server.maxConnections = o.maxConnections;
  // A failed or timed-out handshake (handshakeTimeout: a peer stalled inside it) ends that connection only.
  server.on('tlsClientError', (_err, socket) => {
    count('dropped');
    socket.destroy();
  });

  function tenantOf(socket: tls.TLSSocket): { tenantId: string | null; cn: string | null } {
    const cert = socket.authorized ? socket.getPeerCertificate() : null;
    const cn = cert && typeof cert.subject?.CN === 'string' ? cert.subject.CN : null;
    const mapped = cn ? o.clients.find((c) => c.commonName === cn) : undefined;
    return { tenantId: mapped?.tenantId ?? o.tenantId, cn };
  }

  function serve(socket: tls.TLSSocket): void {
    sockets.add(socket);
    count('connections');
    const connection = ++seq;
    const { tenantId, cn } = tenantOf(socket);
    const ctx: RequestContext = {
      actor: { type: 'system', id: cn ? `syslog-ingest:${cn}` : 'syslog-ingest' },
      requestId: `syslog-${process.pid}-${connection}`,
      sourceIp: socket.remoteAddress ?? null,
    };
    const decoder = new FrameDecoder(o.maxMessageBytes);
    let bad = 0;
    let chain = Promise.resolve();
    socket.setTimeout(o.idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      if (bad > 0) o.logger.warn({ connection, peer: ctx.sourceIp, rejected: bad }, 'syslog ingest: malformed messages refused on this connection');
    });
    socket.on('data', (chunk: Buffer) => {
      const events: NormalizedEvent[] = [];
      const now = o.clock.now();
      for (const f of decoder.push(chunk)) {
        const r = f.kind === 'frame' ? parseSyslog(f.data.toString('utf8')) : null;
        const n = r?.ok ? fromSyslog(r.message, now) : null;
        if (n?.ok) {
          events.push(n.event);
        } else {
          bad++;
          count('rejected');
        }
      }
      if (decoder.fatal) {
        count('dropped');
        bad++;
        socket.destroy();
      }
      if (events.length === 0) return;
      socket.pause();
      chain = chain
        .then(() => o.ingest.recordNormalized(ctx, tenantId, events, 'syslog'))
        .then(
          () => {
            count('accepted', events.length);
            socket.resume();
          },
          (err: unknown) => {
            count('dropped');
            o.logger.warn({ err, connection, lost: events.length }, 'syslog ingest: recording failed; connection closed');
            socket.destroy();
          },
        );
      const current = chain;
      writing.add(current);
      void current.finally(() => writing.delete(current));
    });
  }

  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, o.host, () => {
          server.off('error', reject);
          resolve({ port: (server.address() as AddressInfo).port });
        });
      }),
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...writing]);
    },
    stats: () => ({ ...stats }),
    port: () => (server.listening ? (server.address() as AddressInfo).port : null),
  };
}
