/**
 * External events in OCSF JSON or ECS JSON → the summary Custos stores and
 * the rule pack matches. Pure. Detection: an object with a numeric
 * `class_uid` is OCSF; one with `@timestamp` (or an `ecs` object / `ecs.version`)
 * is ECS; anything else is refused with EVENT_FORMAT_UNKNOWN.
 */
import { canonicalJson } from '../../audit/log/index.js';
import type { JsonValue } from '../../audit/index.js';
import { crudActivity, depth, eventTime, get, int, ip, isObject, LIMITS, problem, text, words } from './fields.js';
import type { IngestFormat, JsonObject, NormalizeResult, SourceSummary } from './types.js';

export function detectFormat(doc: JsonObject): Exclude<IngestFormat, 'syslog'> | undefined {
  if (typeof doc.class_uid === 'number') return 'ocsf';
  if (doc['@timestamp'] !== undefined || isObject(doc.ecs) || doc['ecs.version'] !== undefined) return 'ecs';
  return undefined;
}

const OCSF_CATEGORY: Record<number, string> = { 1: 'system', 2: 'finding', 3: 'iam', 4: 'network', 5: 'discovery', 6: 'application' };

/** OCSF: class_uid, activity_id, time (or time_dt) and metadata.product are required. */
function fromOcsf(doc: JsonObject, now: Date): NormalizeResult {
  const classUid = int(doc.class_uid);
  const activityId = int(doc.activity_id) ?? (int(doc.type_uid) !== undefined && classUid !== undefined ? (int(doc.type_uid) as number) - classUid * 100 : undefined);
  if (classUid === undefined || classUid < 0 || classUid > 999_999) return { ok: false, problem: problem('EVENT_FIELD_INVALID', 'class_uid must be an OCSF class id (integer)') };
  if (activityId === undefined) return { ok: false, problem: problem('EVENT_FIELD_MISSING', 'activity_id (or type_uid) is required') };
  const product = get(doc, 'metadata.product');
  if (!isObject(product) || !(text(product.name) || text(product.vendor_name))) {
    return { ok: false, problem: problem('EVENT_FIELD_MISSING', 'metadata.product.name (or vendor_name) is required') };
  }
  const when = eventTime(doc.time ?? doc.time_dt, now);
  if ('problem' in when) return { ok: false, problem: when.problem };
  const statusId = int(doc.status_id);
  const status = text(doc.status)?.toLowerCase();
  const category = [OCSF_CATEGORY[Math.floor(classUid / 1000)] ?? 'other'];
  // Config-change classes: Entity Management, Device Config State (Change), and any "Update" of a managed entity.
  if (classUid === 3004 || classUid === 5002 || classUid === 5019) category.push('configuration');
  const summary: SourceSummary = {
    format: 'ocsf',
    time: when.time,
    class_uid: classUid,
    activity_id: activityId,
    category,
    type: ocsfTypes(activityId, text(doc.activity_name)),
    outcome: statusId === 1 || status === 'success' ? 'success' : statusId === 2 || status === 'failure' ? 'failure' : 'unknown',
    ...opt('action', text(doc.activity_name) ?? text(get(doc, 'api.operation'))),
    ...opt('severity_id', int(doc.severity_id)),
    ...opt('product', text(product.name)),
    ...opt('vendor', text(product.vendor_name)),
    ...opt('observer_type', text(get(doc, 'device.type'))?.toLowerCase()),
    ...opt('host', text(get(doc, 'device.hostname')) ?? text(get(doc, 'device.name'))),
    ...opt('user', text(get(doc, 'actor.user.name')) ?? text(get(doc, 'actor.user.uid'))),
    ...opt('src_ip', ip(get(doc, 'src_endpoint.ip'))),
    ...opt('dst_ip', ip(get(doc, 'dst_endpoint.ip'))),
    ...opt('message', text(doc.message, LIMITS.message)),
  };
  return { ok: true, event: { summary, original: doc } };
}

/** ECS-style types of an OCSF activity: the generic CRUD meaning of ids 1–4, and the activity's own name. */
function ocsfTypes(activityId: number, name: string | undefined): string[] {
  const out = [crudName(activityId)];
  const own = name?.toLowerCase();
  if (own && !out.includes(own)) out.push(own);
  return out;
}

function crudName(activityId: number): string {
  return ({ 1: 'creation', 2: 'access', 3: 'change', 4: 'deletion' } as Record<number, string>)[activityId] ?? 'info';
}

/** ECS categorisation → OCSF class and activity (the inverse of audit/forward/ecs.ts, plus network traffic). */
export function ecsClass(category: string[], type: string[]): { classUid: number; activityId: number } {
  const has = (c: string) => category.includes(c);
  if (has('authentication')) return { classUid: 3002, activityId: type.includes('start') ? 1 : type.includes('end') ? 2 : 99 };
  if (has('iam')) {
    if (type.includes('admin') || type.includes('group')) return { classUid: 3005, activityId: type.includes('deletion') ? 2 : 1 };
    return { classUid: 3001, activityId: crudActivity(type) };
  }
  if (has('configuration')) return { classUid: 3004, activityId: crudActivity(type) };
  if (has('network')) {
    // OCSF Network Activity: 1 open, 2 close, 5 refuse, 6 traffic.
    const activityId = type.includes('denied') ? 5 : type.includes('start') || type.includes('connection') ? 1 : type.includes('end') ? 2 : 6;
    return { classUid: 4001, activityId };
  }
  if (has('api') || has('web')) return { classUid: 6003, activityId: crudActivity(type) };
  if (has('database')) return { classUid: 6005, activityId: crudActivity(type) };
  if (has('intrusion_detection') || has('malware')) return { classUid: 2004, activityId: 1 };
  return { classUid: 0, activityId: 99 };
}

/** The summary's core from ECS-style categorisation (ECS events, syslog structured data). */
export function categorised(format: SourceSummary['format'], time: string, category: string[], type: string[], outcome: string | undefined): SourceSummary {
  const { classUid, activityId } = ecsClass(category, type);
  const o = outcome?.toLowerCase();
  return { format, time, class_uid: classUid, activity_id: activityId, category, type, outcome: o === 'success' || o === 'failure' ? o : 'unknown' };
}

/** ECS: @timestamp and at least one of event.category, event.action are required. */
function fromEcs(doc: JsonObject, now: Date): NormalizeResult {
  const category = words(get(doc, 'event.category'));
  const type = words(get(doc, 'event.type'));
  const action = text(get(doc, 'event.action'));
  if (category.length === 0 && !action) return { ok: false, problem: problem('EVENT_FIELD_MISSING', 'event.category or event.action is required') };
  const when = eventTime(doc['@timestamp'], now);
  if ('problem' in when) return { ok: false, problem: when.problem };
  const summary: SourceSummary = {
    ...categorised('ecs', when.time, category, type, text(get(doc, 'event.outcome'))),
    ...opt('action', action),
    ...opt('product', text(get(doc, 'observer.product')) ?? text(get(doc, 'event.module')) ?? text(get(doc, 'agent.type'))),
    ...opt('vendor', text(get(doc, 'observer.vendor'))),
    ...opt('observer_type', text(get(doc, 'observer.type'))?.toLowerCase()),
    ...opt('host', text(get(doc, 'observer.hostname')) ?? text(get(doc, 'host.name'))),
    ...opt('user', text(get(doc, 'user.name')) ?? text(get(doc, 'user.id'))),
    ...opt('src_ip', ip(get(doc, 'source.ip')) ?? ip(get(doc, 'client.ip'))),
    ...opt('dst_ip', ip(get(doc, 'destination.ip')) ?? ip(get(doc, 'server.ip'))),
    ...opt('message', text(doc.message, LIMITS.message)),
  };
  return { ok: true, event: { summary, original: doc } };
}

/** `{ key: value }` when the value is present, `{}` otherwise (absent facts are left out). */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Validates and summarises one item of a JSON batch: an object, not too
 * deep, representable in RFC 8785, at most LIMITS.eventBytes, OCSF or ECS.
 */
export function normalizeJson(item: unknown, now: Date): NormalizeResult {
  if (!isObject(item as JsonValue)) return { ok: false, problem: problem('EVENT_NOT_OBJECT', 'each event must be a JSON object') };
  const doc = item as JsonObject;
  if (depth(doc) >= LIMITS.depth) return { ok: false, problem: problem('EVENT_TOO_DEEP', `the event nests deeper than ${LIMITS.depth} levels`) };
  let bytes: number;
  try {
    bytes = Buffer.byteLength(canonicalJson(doc));
  } catch {
    return { ok: false, problem: problem('EVENT_NOT_CANONICALIZABLE', 'the event holds a value RFC 8785 JSON cannot represent') };
  }
  if (bytes > LIMITS.eventBytes) return { ok: false, problem: problem('EVENT_TOO_LARGE', `the event is ${bytes} bytes; at most ${LIMITS.eventBytes} are accepted`) };
  const format = detectFormat(doc);
  if (format === 'ocsf') return fromOcsf(doc, now);
  if (format === 'ecs') return fromEcs(doc, now);
  return { ok: false, problem: problem('EVENT_FORMAT_UNKNOWN', 'neither OCSF (numeric class_uid) nor ECS (@timestamp)') };
}
