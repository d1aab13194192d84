/**
 * RFC 5424 syslog messages for audit entries and checkpoints, framed by
 * RFC 5425 octet counting (`<length> <message>`). Pure.
 */
import type { ForwardEntry, LogCheckpoint } from './types.js';

export interface SyslogFormatOptions {
  /** RFC 5424 facility, 0–23 (default 13, "log audit"). */
  facility: number;
  /** HOSTNAME field (printable ASCII without spaces; sanitised, at most 255). */
  hostname: string;
  /** APP-NAME field (at most 48). */
  appName: string;
  /** PROCID field (at most 128). */
  procId: string;
  /** SD-ID of Custos's structured data, `name@<private enterprise number>`. */
  sdId: string;
}

/** UTF-8 byte order mark: RFC 5424 §6.4 requires it before a UTF-8 MSG. */
const BOM = '\uFEFF';

/**
 * OCSF severity_id → RFC 5424 severity: 0 unknown and 1 informational → 6
 * informational, 2 low → 5 notice, 3 medium → 4 warning, 4 high → 3 error,
 * 5 critical → 2 critical, 6 fatal → 1 alert, anything else → 5 notice.
 */
export function syslogSeverity(ocsfSeverityId: unknown): number {
  const map: Record<number, number> = { 0: 6, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1 };
  return typeof ocsfSeverityId === 'number' ? (map[ocsfSeverityId] ?? 5) : 5;
}

/** A header field: printable US-ASCII (33–126) only, at most `max` characters, `-` when empty. */
export function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** RFC 5424 §6.3.3 PARAM-VALUE escaping: `"`, `\` and `]` take a backslash. */
export function escapeParam(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

function structuredData(sdId: string, params: Record<string, string | number>): string {
  const body = Object.entries(params)
    .map(([k, v]) => `${k}="${escapeParam(String(v))}"`)
    .join(' ');
  return `[${sdId} ${body}]`;
}

function message(o: SyslogFormatOptions, severity: number, timestamp: string, msgId: string, sd: string, msg: string): string {
  const pri = o.facility * 8 + severity;
  const header = [
    `<${pri}>1`,
    headerField(timestamp, 64),
    headerField(o.hostname, 255),
    headerField(o.appName, 48),
    headerField(o.procId, 128),
    headerField(msgId, 32),
  ].join(' ');
  return `${header} ${sd} ${BOM}${msg}`;
}

function timestampOf(entry: ForwardEntry): string {
  const t = entry.event.time_dt;
  return typeof t === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$/.test(t) ? t : '-';
}

/** One entry: MSGID `audit`, structured data with index, event id and leaf hash, MSG = the stored OCSF JSON. */
export function formatEntry(o: SyslogFormatOptions, entry: ForwardEntry): string {
  const sd = structuredData(o.sdId, { index: entry.index, eventId: entry.eventId, leafHash: entry.leafHash });
  return message(o, syslogSeverity(entry.event.severity_id), timestampOf(entry), 'audit', sd, entry.eventJson);
}

/** A checkpoint: MSGID `checkpoint`, structured data with the size, MSG = `{"size":…,"note":"…"}`. */
export function formatCheckpoint(o: SyslogFormatOptions, checkpoint: LogCheckpoint, now: Date): string {
  const sd = structuredData(o.sdId, { size: checkpoint.size });
  const msg = JSON.stringify({ size: checkpoint.size, note: checkpoint.note });
  return message(o, 5, now.toISOString(), 'checkpoint', sd, msg);
}

/** RFC 5425 §4.3 octet-counting frame: the message's length in bytes, a space, the message. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
