/**
 * What one rule match does inside the worker's batch transaction: fold into
 * the open alert of the same rule and group within the suppression window,
 * or open a new alert, queue its notifications and take the rule's opt-in
 * responses. Every change records its audit event in the same transaction.
 */
import { OCSF, ACTIVITY, type AuditRecorder, type OcsfEvent, type Severity } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { alertPayload } from './alert.js';
import type { EffectiveSettings } from './rules.js';
import type { SigmaMatch } from './sigma/index.js';
import { findOpenAlert, insertAlert, updateAlert, type AlertRow } from './store.js';
import { insertNotification } from './store-queue.js';
import { SEVERITIES } from './types.js';
import { applyResponses, type ResponseDeps } from './responses.js';

/** Indexes kept per alert (the first ones; `count` keeps counting). */
export const MAX_ALERT_INDEXES = 100;

export interface Channel {
  readonly name: string;
  readonly minSeverity: Severity;
}

export interface RaiseDeps extends ResponseDeps {
  audit: AuditRecorder;
  channels: readonly Channel[];
}

export const atLeast = (s: Severity, min: Severity) => SEVERITIES.indexOf(s) >= SEVERITIES.indexOf(min);

const ref = (o: unknown): { type: string; uid: string } | undefined =>
  o && typeof o === 'object' && typeof (o as { uid?: unknown }).uid === 'string' ? { type: String((o as { type?: unknown }).type ?? ''), uid: (o as { uid: string }).uid } : undefined;

/**
 * The deduplication key: a correlation's group-by values; for a detection,
 * who did it to what (actor and first resource), so one actor's repeats fold
 * and different actors get their own alerts.
 */
export function groupKeyOf(match: SigmaMatch, event: OcsfEvent): string {
  if (match.group && Object.keys(match.group).length > 0) {
    return Object.keys(match.group)
      .sort()
      .map((k) => `${k}=${match.group?.[k] ?? ''}`)
      .join(';');
  }
  const actor = ref((event.actor as { user?: unknown } | undefined)?.user);
  const target = ref(Array.isArray(event.resources) ? event.resources[0] : undefined);
  return `actor=${actor ? `${actor.type}:${actor.uid}` : '-'};target=${target ? `${target.type}:${target.uid}` : '-'}`;
}

function alertEvent(action: string, row: AlertRow, details: Record<string, string | number | string[] | number[]>) {
  return {
    classUid: OCSF.DETECTION_FINDING,
    activityId: action === 'siem.alert.create' ? ACTIVITY.CREATE : ACTIVITY.UPDATE,
    action,
    kind: 'security' as const,
    outcome: 'success' as const,
    severity: row.severity,
    tenantId: row.tenant_id,
    target: { type: 'siem_alert', id: row.id },
    details,
  };
}

/** Applies one match; returns whether a new alert was opened (and notifications queued). */
export async function raise(deps: RaiseDeps, tx: Tx, ctx: RequestContext, match: SigmaMatch, event: OcsfEvent, settings: EffectiveSettings): Promise<{ created: boolean; queued: number }> {
  const groupKey = groupKeyOf(match, event);
  const at = new Date(match.time).toISOString();
  const now = deps.clock.now().toISOString();
  const open = await findOpenAlert(tx, match.ruleId, groupKey);
  if (open && Date.parse(open.last_seen_at) + settings.suppressionSeconds * 1000 >= match.time) {
    const kept = JSON.parse(open.indexes) as number[];
    const merged = [...new Set([...kept, ...match.indexes])].sort((a, b) => a - b).slice(0, MAX_ALERT_INDEXES);
    const last = Math.max(open.last_index, ...match.indexes);
    const patch = { count: open.count + 1, indexes: JSON.stringify(merged), last_index: last, last_seen_at: at > open.last_seen_at ? at : open.last_seen_at, updated_at: now };
    await updateAlert(tx, open.id, patch);
    await deps.audit.record(tx, ctx, alertEvent('siem.alert.repeat', { ...open, ...patch }, { ruleId: match.ruleId, count: patch.count, lastIndex: last }));
    return { created: false, queued: 0 };
  }
  const indexes = [...match.indexes].sort((a, b) => a - b);
  const row: AlertRow = {
    id: newId(),
    rule_id: match.ruleId,
    title: match.title,
    severity: settings.level ?? match.level,
    group_key: groupKey,
    tenant_id: typeof event.tenant_uid === 'string' ? event.tenant_uid : null,
    state: 'open',
    assignee: null,
    count: 1,
    indexes: JSON.stringify(indexes.slice(0, MAX_ALERT_INDEXES)),
    first_index: indexes[0] ?? -1,
    last_index: indexes.at(-1) ?? -1,
    first_seen_at: at,
    last_seen_at: at,
    tags: JSON.stringify(match.tags),
    created_at: now,
    updated_at: now,
    closed_at: null,
  };
  await insertAlert(tx, row);
  const channels = deps.channels.filter((c) => atLeast(row.severity, c.minSeverity)).map((c) => c.name);
  const payload = alertPayload(row);
  for (const channel of channels) {
    await insertNotification(tx, { id: newId(), alert_id: row.id, channel, payload, state: 'pending', attempts: 0, next_attempt_at: now, last_error: null, created_at: now, sent_at: null });
  }
  await deps.audit.record(tx, ctx, alertEvent('siem.alert.create', row, { ruleId: row.rule_id, severity: row.severity, indexes: indexes.slice(0, 20), notify: channels }));
  if (settings.responses.length > 0) await applyResponses(deps, tx, ctx, row, event, settings.responses);
  return { created: true, queued: channels.length };
}
