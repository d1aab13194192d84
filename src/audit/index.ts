export { createAuditRecorder, MAX_EVENT_BYTES, type AuditRecorder } from './outbox/recorder.js';
export { readOutbox, type OutboxRow } from './outbox/store.js';
export { OCSF, ACTIVITY, buildEvent, type AuditEventInput, type OcsfEvent, type JsonValue, type Severity } from './events.js';
