/**
 * Audit forwarders: the off-system copies of the sequenced audit log
 * (syslog RFC 5424/5425 over TLS, HTTPS JSON batches signed with HMAC, NATS
 * JetStream), each with a durable cursor, at-least-once delivery, backoff and
 * a lag gauge. See README.md for the invariants. The module's only entry.
 */
export { createForwarders, createTransport, type AuditForwarderConfig, type ForwarderDeps, type ForwarderSet } from './factory.js';
export { createForwarder, LAG_GAUGE, FAILURES_GAUGE, type Forwarder, type ForwarderOptions, type TickResult } from './runtime.js';
export { createCursorStore } from './store.js';
export { MemoryLogSource } from './memory.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { FORWARD_ERRORS, type ForwardErrorName } from './errors.js';
export { toEcs, ecsCategorization, ECS_VERSION } from './ecs.js';
export { SyslogTransport, type SyslogTransportOptions } from './syslog.js';
export { formatEntry as formatSyslogEntry, formatCheckpoint as formatSyslogCheckpoint, frame as syslogFrame, syslogSeverity, type SyslogFormatOptions } from './syslog-format.js';
export { HttpsTransport, signBody, SIGNATURE_HEADER, type HttpsTransportOptions } from './https.js';
export { NatsTransport, type NatsTransportOptions } from './nats.js';
export type {
  Cursor,
  CursorStore,
  ForwardBatch,
  ForwardEntry,
  ForwarderError,
  ForwarderLogger,
  ForwarderStatus,
  GaugeFactory,
  LogCheckpoint,
  LogEntry,
  LogSource,
  Transport,
} from './types.js';
