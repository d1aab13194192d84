// Public API of SIEM ingestion (README.md). Other modules import from here only.
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { Metrics } from '../../server/metrics.js';
import { ensureSelfSigned, loadTlsMaterial, tlsOptions } from '../../server/tls.js';
import type { Clock } from '../../shared/clock.js';
import type { IngestService } from './service.js';
import { createSyslogListener, type SyslogListener } from './syslog-listener.js';
import { readFileSync } from 'node:fs';
import { createError } from '../../shared/errors.js';

export { createIngestService, toAuditInput, EXTERNAL_ACTION, type IngestDeps, type IngestResult, type IngestService, type ItemResult } from './service.js';
export { registerIngestRoutes } from './routes.js';
export { normalizeJson, detectFormat } from './normalize.js';
export { parseSyslog, type SyslogMessage } from './syslog-parse.js';
export { fromSyslog } from './syslog-event.js';
export { FrameDecoder } from './syslog-framing.js';
export type { SyslogListener, SyslogStats } from './syslog-listener.js';
export type { NormalizedEvent, SourceSummary, IngestFormat, ItemProblem } from './types.js';

function pem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw createError('CONFIG_INVALID', `config: siem.ingest.syslog.${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * The syslog listener as configured (`siem.ingest.syslog`), or null when it
 * is off. Its certificate: its own, else the HTTPS server's (configured or
 * generated self-signed in <dataDir>/tls).
 */
export async function createSyslogIngest(
  config: Config,
  deps: { ingest: IngestService; clock: Clock; logger: Logger; metrics?: Pick<Metrics, 'gauge'> },
): Promise<SyslogListener | null> {
  const c = config.siem.ingest.syslog;
  if (!c.enabled) return null;
  let material: { cert: Buffer; key: Buffer };
  if (c.cert && c.key) {
    material = { cert: pem(c.cert, 'cert'), key: pem(c.key, 'key') };
  } else {
    await ensureSelfSigned(config);
    material = loadTlsMaterial(config);
  }
  const ca = c.clientCa ? pem(c.clientCa, 'clientCa') : undefined;
  return createSyslogListener({
    host: c.host,
    port: c.port,
    tls: tlsOptions({ cert: material.cert, key: material.key, ca, selfSigned: false, certPath: '', keyPath: '' }),
    tenantId: c.tenantId ?? null,
    clients: c.clients,
    maxMessageBytes: c.maxMessageBytes,
    maxConnections: c.maxConnections,
    idleTimeoutMs: c.idleTimeoutMs,
    ingest: deps.ingest,
    clock: deps.clock,
    logger: deps.logger,
    gauge: deps.metrics?.gauge('custos_siem_ingest_syslog_total', 'Syslog ingestion: connections, messages accepted and rejected, connections dropped', ['result']),
  });
}
