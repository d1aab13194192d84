/**
 * Types of the audit forwarders: what they read (LogSource, implemented by
 * the sequenced log), what they keep (CursorStore), what they send through
 * (Transport) and what they need from the process (metrics, logger).
 */
import type { OcsfEvent } from '../events.js';

/** One sequenced log entry as the log stores it. */
export interface LogEntry {
  /** Position in the log; consecutive from 0. */
  index: number;
  /** The event as stored (RFC 8785 canonical JSON); its leaf hash is over these bytes. */
  eventJson: string;
  /** RFC 6962 leaf hash of `eventJson`, base64. */
  leafHash: string;
}

/** A signed C2SP tlog-checkpoint (a signed note) and the tree size it commits to. */
export interface LogCheckpoint {
  size: number;
  note: string;
}

/**
 * What forwarders read. The sequenced log implements it over its tables;
 * MemoryLogSource implements it in memory for tests.
 */
export interface LogSource {
  /** Entries with index > `index`, ascending and consecutive, at most `limit` of them. */
  entriesAfter(index: number, limit: number): Promise<LogEntry[]>;
  /** Index of the newest entry, -1 when the log is empty. */
  latestIndex(): Promise<number>;
  /** The newest signed checkpoint, if any. */
  latestCheckpoint(): Promise<LogCheckpoint | undefined>;
}

/** An entry ready to send: the stored form plus the parsed event (for ids, severity, projections). */
export interface ForwardEntry extends LogEntry {
  event: OcsfEvent;
  /** `metadata.uid` of the event: the destination's deduplication key. */
  eventId: string;
}

/** What one send carries: consecutive entries (possibly none) and possibly a newer checkpoint. */
export interface ForwardBatch {
  entries: ForwardEntry[];
  checkpoint?: LogCheckpoint | undefined;
}

/**
 * A destination. `send` resolves only once the destination acknowledged the
 * whole batch (for syslog over TCP, which has no acknowledgement: once written,
 * flushed and the connection stayed up through the settle window). It rejects
 * with a CustosError (AUDIT_FORWARD_*) otherwise; the forwarder then resends
 * from its cursor, so a transport may deliver a batch more than once.
 */
export interface Transport {
  readonly kind: 'syslog' | 'https' | 'nats' | (string & {});
  send(batch: ForwardBatch): Promise<void>;
  /** Releases connections; an in-flight send rejects. Idempotent. */
  close(): Promise<void>;
}

/** A forwarder's durable position. */
export interface Cursor {
  /** First index not yet acknowledged by the destination. */
  nextIndex: number;
  /** Size of the newest checkpoint the destination acknowledged (0: none). */
  checkpointSize: number;
}

/** Durable cursors, one per forwarder name. */
export interface CursorStore {
  get(name: string): Promise<Cursor | undefined>;
  /** Stores the cursor; never moves either field backwards. */
  advance(name: string, cursor: Cursor): Promise<void>;
}

/** The part of the Prometheus helper (server/metrics.ts) forwarders use. */
export interface GaugeFactory {
  gauge(name: string, help: string, labelNames?: readonly string[]): { set(labels: Record<string, string>, value: number): void };
}

/** The part of the pino logger forwarders use. */
export interface ForwarderLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A failure as kept for status: a code and a message without secrets. */
export interface ForwarderError {
  code: string;
  message: string;
  at: string;
}

export interface ForwarderStatus {
  name: string;
  kind: string;
  running: boolean;
  nextIndex: number | undefined;
  checkpointSize: number | undefined;
  /** Entries in the log the destination has not acknowledged (latestIndex - nextIndex + 1). */
  lag: number | undefined;
  /** Consecutive failures; 0 after a success. */
  failures: number;
  /** Delay before the next attempt after the last failure (0 when healthy). */
  retryInMs: number;
  lastError: ForwarderError | null;
  lastSuccessAt: string | null;
}
