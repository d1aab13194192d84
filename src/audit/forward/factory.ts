/**
 * Builds forwarders from `config.audit.forwarders`: reads the configured
 * files (CA, client certificate, HMAC secret, NATS credentials) once, at
 * start, failing with AUDIT_FORWARD_FILE_UNREADABLE / _SECRET_INVALID.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Config } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import { systemClock, type Clock } from '../../shared/clock.js';
import { forwardError } from './errors.js';
import { HttpsTransport } from './https.js';
import { NatsTransport } from './nats.js';
import { createForwarder, type Forwarder } from './runtime.js';
import { createCursorStore } from './store.js';
import { SyslogTransport } from './syslog.js';
import type { ForwarderLogger, ForwarderStatus, GaugeFactory, LogSource, Transport } from './types.js';

export interface ForwarderDeps {
  source: LogSource;
  db: Db;
  clock?: Clock;
  metrics?: GaugeFactory;
  logger?: ForwarderLogger;
  /** Reads a configured file (default: fs.readFileSync). */
  readFile?: (path: string) => Buffer;
  /** Overrides the loop's pacing (tests). */
  pollIntervalMs?: number;
  backoff?: { baseMs?: number; maxMs?: number };
}

/** All configured forwarders, started and stopped together. */
export interface ForwarderSet {
  readonly forwarders: readonly Forwarder[];
  start(): void;
  stop(): Promise<void>;
  /** Nudges idle forwarders (e.g. after the sequencer wrote entries or a checkpoint). */
  wake(): void;
  status(): ForwarderStatus[];
}

/** One entry of `config.audit.forwarders`. */
export type AuditForwarderConfig = Config['audit']['forwarders'][number];

const MIN_SECRET_BYTES = 32;

function reader(readFile: ((path: string) => Buffer) | undefined) {
  const read = readFile ?? ((p: string) => readFileSync(p));
  return (what: string, path: string): Buffer => {
    try {
      return read(path);
    } catch (e) {
      throw forwardError('FILE_UNREADABLE', `audit forwarder ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  };
}

function hmacSecret(config: Extract<AuditForwarderConfig, { type: 'https' }>, read: ReturnType<typeof reader>): Buffer {
  if (config.secret) return Buffer.from(config.secret.reveal(), 'utf8');
  // A trailing newline from `echo … > file` is not part of the secret.
  const bytes = Buffer.from(read('secretFile', config.secretFile as string).toString('utf8').replace(/\r?\n$/, ''), 'utf8');
  if (bytes.length < MIN_SECRET_BYTES) {
    throw forwardError('SECRET_INVALID', `audit forwarder ${config.name}: secretFile holds fewer than ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}

/** The transport one configured forwarder sends through. */
export function createTransport(config: AuditForwarderConfig, deps: Pick<ForwarderDeps, 'readFile' | 'clock'>): Transport {
  const read = reader(deps.readFile);
  const opt = (what: string, path: string | undefined) => (path ? read(what, path) : undefined);
  const clock = deps.clock ?? systemClock;
  switch (config.type) {
    case 'syslog':
      return new SyslogTransport({
        host: config.host,
        port: config.port,
        ca: read('ca', config.ca),
        cert: opt('cert', config.cert),
        key: opt('key', config.key),
        serverName: config.serverName,
        settleMs: config.settleMs,
        connectTimeoutMs: config.connectTimeoutMs,
        clock,
        format: {
          facility: config.facility,
          hostname: config.hostname ?? os.hostname(),
          appName: config.appName,
          procId: String(process.pid),
          sdId: config.sdId,
        },
      });
    case 'https':
      return new HttpsTransport({
        url: config.url,
        secret: hmacSecret(config, read),
        ca: opt('ca', config.ca),
        cert: opt('cert', config.cert),
        key: opt('key', config.key),
        timeoutMs: config.timeoutMs,
        format: config.format,
        maxBodyBytes: config.maxBodyBytes,
        forwarderName: config.name,
        clock,
      });
    case 'nats':
      return new NatsTransport({
        servers: config.servers,
        stream: config.stream,
        subjectPrefix: config.subjectPrefix,
        requireTls: !config.insecurePlaintext,
        tls: config.insecurePlaintext
          ? undefined
          : { ca: opt('ca', config.ca)?.toString('utf8'), cert: opt('cert', config.cert)?.toString('utf8'), key: opt('key', config.key)?.toString('utf8') },
        creds: opt('credsFile', config.credsFile),
        timeoutMs: config.timeoutMs,
      });
  }
}

/**
 * Creates one forwarder per configured entry, each with its durable cursor in
 * `db`. Nothing connects until `start()` (or a `tick()`); a bad file fails here.
 */
export function createForwarders(configs: readonly AuditForwarderConfig[], deps: ForwarderDeps): ForwarderSet {
  const clock = deps.clock ?? systemClock;
  const cursors = createCursorStore(deps.db, clock);
  const transports = configs.map((c) => createTransport(c, deps));
  const forwarders = configs.map((config, i) =>
    createForwarder({
      name: config.name,
      transport: transports[i] as Transport,
      source: deps.source,
      cursors,
      clock,
      metrics: deps.metrics,
      logger: deps.logger,
      batchSize: config.batchSize,
      pollIntervalMs: deps.pollIntervalMs,
      backoff: deps.backoff,
    }),
  );
  return {
    forwarders,
    start: () => forwarders.forEach((f) => f.start()),
    stop: async () => {
      await Promise.all(forwarders.map((f) => f.stop()));
    },
    wake: () => forwarders.forEach((f) => f.wake()),
    status: () => forwarders.map((f) => f.status()),
  };
}
