/**
 * RFC 5424 syslog messages, parsed strictly (ABNF of §6): PRI, VERSION 1,
 * TIMESTAMP (RFC 3339 with a zone, or "-"), HOSTNAME, APP-NAME, PROCID,
 * MSGID with their length limits, STRUCTURED-DATA with escaped values, MSG
 * (a UTF-8 BOM is dropped). Pure; a bad message gives a problem, never throws.
 */
import { problem } from './fields.js';
import type { ItemProblem } from './types.js';

export interface SyslogMessage {
  facility: number;
  severity: number;
  timestamp: string | null;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  /** SD-ID → PARAM-NAME → values (a name may repeat). */
  structuredData: Record<string, Record<string, string[]>>;
  msg: string | null;
}

type Parsed = { ok: true; message: SyslogMessage } | { ok: false; problem: ItemProblem };

const bad = (detail: string): Parsed => ({ ok: false, problem: problem('SYSLOG_MALFORMED', detail) });
const PRINT = /^[\x21-\x7e]+$/;
const SD_NAME = /^[\x21-\x7e]{1,32}$/;
// RFC 3339 as RFC 5424 restricts it: at most 6 fraction digits, a zone (Z or ±hh:mm).
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** Reads the next SP-delimited header field (the message must go on after it). */
function field(s: string, at: number, max: number, name: string): { value: string | null; next: number } | string {
  const end = s.indexOf(' ', at);
  if (end < 0) return `${name}: the header ends too soon`;
  const raw = s.slice(at, end);
  if (raw === '-') return { value: null, next: end + 1 };
  if (raw.length === 0 || raw.length > max || !PRINT.test(raw)) return `${name}: 1 to ${max} printable ASCII characters expected`;
  return { value: raw, next: end + 1 };
}

function timestamp(raw: string | null): string | null | undefined {
  if (raw === null) return null;
  const m = TIMESTAMP.exec(raw);
  if (!m) return undefined;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** STRUCTURED-DATA from `at`: "-" or one or more [SD-ID *(SP NAME="VALUE")]; returns where MSG may start. */
function structured(s: string, at: number): { sd: SyslogMessage['structuredData']; next: number } | string {
  const sd: SyslogMessage['structuredData'] = Object.create(null) as SyslogMessage['structuredData'];
  if (s[at] === '-') return { sd, next: at + 1 };
  if (s[at] !== '[') return 'STRUCTURED-DATA: "-" or "[" expected';
  let i = at;
  while (s[i] === '[') {
    const idEnd = s.slice(i + 1).search(/[ \]]/);
    if (idEnd < 0) return 'SD-ELEMENT: unterminated';
    const id = s.slice(i + 1, i + 1 + idEnd);
    if (!SD_NAME.test(id) || /[="]/.test(id)) return 'SD-ID: 1 to 32 printable characters without = " ]';
    if (id in sd) return `SD-ID ${id} appears twice`;
    const params: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    i += 1 + idEnd;
    while (s[i] === ' ') {
      const eq = s.indexOf('="', i + 1);
      if (eq < 0) return `SD-PARAM in ${id}: name="value" expected`;
      const name = s.slice(i + 1, eq);
      if (!SD_NAME.test(name) || /[\]=" ]/.test(name)) return `SD-PARAM name in ${id} is not valid`;
      let value = '';
      let j = eq + 2;
      for (; j < s.length && s[j] !== '"'; j++) {
        // Only \" \\ \] are escapes; any other backslash is kept as it is (§6.3.3).
        if (s[j] === '\\' && (s[j + 1] === '"' || s[j + 1] === '\\' || s[j + 1] === ']')) j++;
        value += s[j];
      }
      if (j >= s.length) return `SD-PARAM ${name} in ${id}: unterminated value`;
      (params[name] ??= []).push(value);
      i = j + 1;
    }
    if (s[i] !== ']') return `SD-ELEMENT ${id}: "]" expected`;
    sd[id] = params;
    i++;
  }
  return { sd, next: i };
}

/** Parses one RFC 5424 message (without its transport framing). */
export function parseSyslog(input: string): Parsed {
  const pri = /^<(\d{1,3})>([1-9]\d{0,2}) /.exec(input);
  if (!pri) return bad('the message does not start with <PRI>VERSION');
  const priValue = Number(pri[1]);
  if (priValue > 191 || (pri[1]!.length > 1 && pri[1]!.startsWith('0'))) return bad('PRI must be 0 to 191');
  if (pri[2] !== '1') return bad(`syslog protocol version ${pri[2]} is not supported (RFC 5424 is version 1)`);
  let at = pri[0].length;
  const parts: Array<string | null> = [];
  for (const [name, max] of [['TIMESTAMP', 64], ['HOSTNAME', 255], ['APP-NAME', 48], ['PROCID', 128], ['MSGID', 32]] as const) {
    const f = field(input, at, max, name);
    if (typeof f === 'string') return bad(f);
    parts.push(f.value);
    at = f.next;
  }
  const time = timestamp(parts[0] ?? null);
  if (time === undefined) return bad('TIMESTAMP is not an RFC 3339 date-time with a zone');
  const sd = structured(input, at);
  if (typeof sd === 'string') return bad(sd);
  let msg: string | null = null;
  if (sd.next < input.length) {
    if (input[sd.next] !== ' ') return bad('STRUCTURED-DATA must be followed by a space and the message');
    msg = input.slice(sd.next + 1).replace(/^\uFEFF/, '');
  }
  return {
    ok: true,
    message: {
      facility: priValue >> 3,
      severity: priValue & 7,
      timestamp: time,
      hostname: parts[1] ?? null,
      appName: parts[2] ?? null,
      procId: parts[3] ?? null,
      msgId: parts[4] ?? null,
      structuredData: sd.sd,
      msg,
    },
  };
}
