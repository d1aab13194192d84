/**
 * The audit event shape: OCSF 1.x names (class_uid, activity_id, type_uid,
 * status, severity_id, actor, src_endpoint, resources), carrying references
 * only — ids, field names, counts — never personal-data values.
 */
export const OCSF = {
  ACCOUNT_CHANGE: 3001,
  AUTHENTICATION: 3002,
  AUTHORIZE_SESSION: 3003,
  USER_ACCESS_MANAGEMENT: 3005,
  ENTITY_MANAGEMENT: 3004,
  API_ACTIVITY: 6003,
  DATASTORE_ACTIVITY: 6005,
  DETECTION_FINDING: 2004,
} as const;

/** OCSF generic activity ids used by API Activity and Entity Management. */
export const ACTIVITY = { CREATE: 1, READ: 2, UPDATE: 3, DELETE: 4, OTHER: 99 } as const;

export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';

const SEVERITY_ID: Record<Severity, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** What a service states about one change or one access. */
export interface AuditEventInput {
  classUid: number;
  activityId: number;
  /** Custos's dotted action name, e.g. `tenant.create`, `tenant.cross_tenant_probe`. */
  action: string;
  /** `security` events feed the SIEM's security rules; others are `change`, `access` or `auth`. */
  kind: 'change' | 'access' | 'auth' | 'security' | 'system';
  outcome: 'success' | 'failure';
  severity?: Severity;
  tenantId?: string | null;
  target?: { type: string; id: string } | undefined;
  /** References only (ids, field names, counts); never personal-data values or secrets. */
  details?: Record<string, JsonValue>;
}

export interface OcsfEvent {
  [k: string]: JsonValue;
}

export interface BuildArgs {
  eventId: string;
  time: Date;
  actor: { type: string; id: string };
  requestId: string;
  sourceIp: string | null;
}

/** Builds the stored OCSF-shaped event. Pure: the same input gives the same JSON. */
export function buildEvent(input: AuditEventInput, args: BuildArgs): OcsfEvent {
  const event: OcsfEvent = {
    metadata: { version: '1.3.0', uid: args.eventId, product: { name: 'Custos', vendor_name: 'Custos' } },
    class_uid: input.classUid,
    activity_id: input.activityId,
    type_uid: input.classUid * 100 + input.activityId,
    time: args.time.getTime(),
    time_dt: args.time.toISOString(),
    status: input.outcome === 'success' ? 'Success' : 'Failure',
    status_id: input.outcome === 'success' ? 1 : 2,
    severity_id: SEVERITY_ID[input.severity ?? (input.kind === 'security' ? 'medium' : 'informational')],
    actor: { user: { type: args.actor.type, uid: args.actor.id } },
    api: { request: { uid: args.requestId } },
    src_endpoint: args.sourceIp ? { ip: args.sourceIp } : null,
    tenant_uid: input.tenantId ?? null,
    resources: input.target ? [{ type: input.target.type, uid: input.target.id }] : [],
    custos: { action: input.action, kind: input.kind },
    unmapped: input.details ?? {},
  };
  return event;
}
