/** An alert row as the API and the notifications show it. */
import type { AlertRow } from './store.js';
import type { Alert } from './types.js';

export function toAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    ruleId: r.rule_id,
    title: r.title,
    severity: r.severity,
    groupKey: r.group_key,
    tenantId: r.tenant_id,
    state: r.state,
    assignee: r.assignee,
    count: r.count,
    indexes: JSON.parse(r.indexes) as number[],
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    tags: JSON.parse(r.tags) as string[],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    closedAt: r.closed_at,
  };
}

/** The notification body: the alert by reference (ids, rule, severity, log indexes), never event contents. */
export function alertPayload(row: AlertRow): string {
  const { id, ruleId, title, severity, groupKey, tenantId, state, count, indexes, firstSeenAt, lastSeenAt, tags } = toAlert(row);
  return JSON.stringify({ type: 'custos.siem.alert', alert: { id, ruleId, title, severity, groupKey, tenantId, state, count, indexes, firstSeenAt, lastSeenAt, tags } });
}
