/**
 * A parsed RFC 5424 message → the summary Custos stores. Syslog carries no
 * categorisation of its own, so a sender may add it as structured-data
 * parameters in any SD element (README: `category`, `type`, `action`,
 * `outcome`, `observer`, `user`, `src_ip`, `dst_ip`); without them the rule
 * pack matches on app-name, MSGID and message text.
 */
import type { JsonValue } from '../../audit/index.js';
import { eventTime, ip, LIMITS, text, words } from './fields.js';
import { categorised, opt } from './normalize.js';
import type { SyslogMessage } from './syslog-parse.js';
import type { JsonObject, NormalizeResult, SourceSummary } from './types.js';

/** RFC 5424 severity (0 emergency … 7 debug) → OCSF severity_id (1 informational … 5 critical). */
export function ocsfSeverity(severity: number): number {
  if (severity <= 2) return 5;
  if (severity === 3) return 4;
  if (severity === 4) return 3;
  if (severity === 5) return 2;
  return 1;
}

/** The first value of a parameter in any SD element, in order. */
function param(sd: SyslogMessage['structuredData'], name: string): string | undefined {
  for (const id of Object.keys(sd)) {
    const v = sd[id]?.[name]?.[0];
    if (v !== undefined) return v;
  }
  return undefined;
}

function sdJson(sd: SyslogMessage['structuredData']): JsonObject {
  const out: JsonObject = {};
  for (const [id, params] of Object.entries(sd)) {
    const p: JsonObject = {};
    for (const [k, v] of Object.entries(params)) p[k] = v.length === 1 ? (v[0] as string) : v;
    out[id] = p;
  }
  return out;
}

export function fromSyslog(m: SyslogMessage, now: Date): NormalizeResult {
  const when = eventTime(m.timestamp ?? now.toISOString(), now);
  if ('problem' in when) return { ok: false, problem: when.problem };
  const sd = m.structuredData;
  const category = words(param(sd, 'category')?.split(',') as JsonValue);
  const type = words(param(sd, 'type')?.split(',') as JsonValue);
  const summary: SourceSummary = {
    ...categorised('syslog', when.time, category, type, param(sd, 'outcome')),
    severity_id: ocsfSeverity(m.severity),
    ...opt('action', text(param(sd, 'action')) ?? text(m.msgId ?? undefined)),
    ...opt('product', text(m.appName ?? undefined)),
    ...opt('app', text(m.appName ?? undefined)),
    ...opt('observer_type', text(param(sd, 'observer') ?? param(sd, 'observer_type'))?.toLowerCase()),
    ...opt('host', text(m.hostname ?? undefined)),
    ...opt('user', text(param(sd, 'user'))),
    ...opt('src_ip', ip(param(sd, 'src_ip'))),
    ...opt('dst_ip', ip(param(sd, 'dst_ip'))),
    ...opt('message', text(m.msg ?? undefined, LIMITS.message)),
  };
  const original: JsonObject = {
    facility: m.facility,
    severity: m.severity,
    timestamp: m.timestamp,
    hostname: m.hostname,
    app_name: m.appName,
    procid: m.procId,
    msgid: m.msgId,
    structured_data: sdJson(sd),
    msg: m.msg,
  };
  return { ok: true, event: { summary, original } };
}
