/**
 * Elastic Common Schema projection of a Custos (OCSF-shaped) audit event,
 * for Elastic-style consumers. Pure; fields the event does not carry are
 * left out rather than invented. Custos-specific fields live under `custos`.
 */
import { ACTIVITY, OCSF, type JsonValue, type OcsfEvent } from '../events.js';

export const ECS_VERSION = '8.11.0';

type Obj = { [k: string]: JsonValue };

function obj(value: JsonValue | undefined): Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

function str(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** ECS event.type for a generic OCSF activity (create/read/update/delete). */
function crudType(activityId: JsonValue | undefined): string {
  switch (activityId) {
    case ACTIVITY.CREATE:
      return 'creation';
    case ACTIVITY.READ:
      return 'access';
    case ACTIVITY.UPDATE:
      return 'change';
    case ACTIVITY.DELETE:
      return 'deletion';
    default:
      return 'info';
  }
}

/** OCSF class (and activity) → ECS event.category and event.type, using ECS's allowed values. */
export function ecsCategorization(classUid: JsonValue | undefined, activityId: JsonValue | undefined): { category: string[]; type: string[] } {
  switch (classUid) {
    case OCSF.ACCOUNT_CHANGE: {
      const t = crudType(activityId);
      return { category: ['iam'], type: ['user', t === 'creation' || t === 'deletion' ? t : 'change'] };
    }
    case OCSF.AUTHENTICATION:
      // OCSF Authentication: 1 logon, 2 logoff.
      return { category: ['authentication'], type: [activityId === 1 ? 'start' : activityId === 2 ? 'end' : 'info'] };
    case OCSF.AUTHORIZE_SESSION:
      return { category: ['iam'], type: ['info'] };
    case OCSF.USER_ACCESS_MANAGEMENT:
      return { category: ['iam'], type: ['admin', 'change'] };
    case OCSF.ENTITY_MANAGEMENT:
      return { category: ['configuration'], type: [crudType(activityId)] };
    case OCSF.API_ACTIVITY:
      return { category: ['api'], type: [crudType(activityId)] };
    case OCSF.DATASTORE_ACTIVITY: {
      const t = crudType(activityId);
      return { category: ['database'], type: [t === 'access' || t === 'info' ? t : 'change'] };
    }
    case OCSF.DETECTION_FINDING:
      return { category: ['intrusion_detection'], type: ['info'] };
    default:
      return { category: [], type: ['info'] };
  }
}

function outcome(event: OcsfEvent): 'success' | 'failure' | 'unknown' {
  if (event.status_id === 1) return 'success';
  if (event.status_id === 2) return 'failure';
  return 'unknown';
}

/** Projects an OCSF-shaped Custos audit event onto ECS fields (nested objects, ECS 8.x). */
export function toEcs(event: OcsfEvent): Obj {
  const custos = obj(event.custos);
  const actorUser = obj(obj(event.actor).user);
  const userId = str(actorUser.uid);
  const sourceIp = str(obj(event.src_endpoint).ip);
  const tenantId = str(event.tenant_uid);
  const requestId = str(obj(obj(event.api).request).uid);
  const { category, type } = ecsCategorization(event.class_uid, event.activity_id);
  const doc: Obj = {
    '@timestamp': str(event.time_dt) ?? (typeof event.time === 'number' ? new Date(event.time).toISOString() : null),
    ecs: { version: ECS_VERSION },
    event: {
      ...(str(obj(event.metadata).uid) ? { id: str(obj(event.metadata).uid) as string } : {}),
      kind: event.class_uid === OCSF.DETECTION_FINDING ? 'alert' : 'event',
      category,
      type,
      ...(str(custos.action) ? { action: str(custos.action) as string } : {}),
      outcome: outcome(event),
      ...(typeof event.severity_id === 'number' ? { severity: event.severity_id } : {}),
      ...(typeof event.type_uid === 'number' ? { code: String(event.type_uid) } : {}),
      provider: 'custos',
      dataset: 'custos.audit',
    },
    custos: {
      ...(str(custos.kind) ? { kind: str(custos.kind) as string } : {}),
      ...(str(actorUser.type) ? { actor_type: str(actorUser.type) as string } : {}),
      resources: Array.isArray(event.resources) ? event.resources : [],
      details: obj(event.unmapped),
      ocsf: { class_uid: event.class_uid ?? null, activity_id: event.activity_id ?? null, type_uid: event.type_uid ?? null },
    },
  };
  if (userId) doc.user = { id: userId };
  if (sourceIp) doc.source = { ip: sourceIp };
  if (tenantId) doc.organization = { id: tenantId };
  if (requestId) doc.trace = { id: requestId };
  const related: Obj = {};
  if (userId) related.user = [userId];
  if (sourceIp) related.ip = [sourceIp];
  if (Object.keys(related).length > 0) doc.related = related;
  return doc;
}
