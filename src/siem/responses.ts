/**
 * Active responses (opt-in per rule, as Wazuh's): lock the account, revoke
 * its sessions, suspend an API key — taken in the alert's own transaction,
 * recorded in siem_responses with what they changed, and reversible through
 * the API. The identity module does the change and records its own audit
 * event (account.lock, account.sessions_revoke, api_key.suspend).
 */
import type { AuditRecorder, OcsfEvent } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import { lockAccount, restoreRevokedSessions, resumeApiKey, revokeAllSessions, suspendApiKey, unlockAccount } from '../identity/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { insertResponse, type AlertRow, type ResponseRow } from './store.js';
import type { ResponseAction } from './types.js';

export interface ResponseDeps {
  audit: AuditRecorder;
  clock: Clock;
}

interface Ref {
  type: string;
  uid: string;
}

function actorRef(event: OcsfEvent): Ref | undefined {
  const user = (event.actor as { user?: { type?: unknown; uid?: unknown } } | null)?.user;
  if (!user || typeof user.uid !== 'string' || typeof user.type !== 'string') return undefined;
  return { type: user.type === 'user' ? 'account' : user.type, uid: user.uid };
}

function resourceRefs(event: OcsfEvent): Ref[] {
  const out: Ref[] = [];
  for (const r of Array.isArray(event.resources) ? event.resources : []) {
    if (r && typeof r === 'object' && !Array.isArray(r) && typeof r.uid === 'string' && typeof r.type === 'string') out.push({ type: r.type, uid: r.uid });
  }
  return out;
}

/**
 * Who a response acts on, from the event that completed the match: the
 * authenticated actor when it is an account (or API key) — an insider's or a
 * stolen credential's own actions — else the account (or key) the event
 * targets — an anonymous attacker's victim, as in a brute force.
 */
export function responseTarget(action: ResponseAction, event: OcsfEvent): Ref | undefined {
  const want = action === 'suspend_api_key' ? 'api_key' : 'account';
  const actor = actorRef(event);
  if (actor?.type === want) return actor;
  return resourceRefs(event).find((r) => r.type === want);
}

async function apply(deps: ResponseDeps, tx: Tx, ctx: RequestContext, action: ResponseAction, id: string, details: { alertId: string; responseId: string }) {
  switch (action) {
    case 'lock_account':
      return (await lockAccount(deps, tx, ctx, id, details)) ? {} : undefined;
    case 'revoke_sessions':
      return revokeAllSessions(deps, tx, ctx, id, details);
    case 'suspend_api_key':
      return (await suspendApiKey(deps, tx, ctx, id, details)) ? {} : undefined;
  }
}

/** Takes each configured response for a new alert; one that finds no target (or nothing to change) is recorded as skipped. */
export async function applyResponses(deps: ResponseDeps, tx: Tx, ctx: RequestContext, alert: AlertRow, event: OcsfEvent, actions: readonly ResponseAction[]): Promise<void> {
  const now = deps.clock.now().toISOString();
  for (const action of actions) {
    const target = responseTarget(action, event);
    const id = newId();
    const done = target ? await apply(deps, tx, ctx, action, target.uid, { alertId: alert.id, responseId: id }) : undefined;
    await insertResponse(tx, {
      id,
      alert_id: alert.id,
      action,
      target_type: target?.type ?? 'none',
      target_id: target?.uid ?? '',
      state: done ? 'applied' : 'skipped',
      details: JSON.stringify(done ?? { reason: target ? 'nothing to change' : 'the event names no target' }),
      applied_at: now,
      reverted_at: null,
      reverted_by: null,
    });
  }
}

/** Undoes an applied response (the caller marked it reverted in `tx`). */
export async function revertResponse(deps: { audit: AuditRecorder; clock: Clock }, tx: Tx, ctx: RequestContext, row: ResponseRow): Promise<void> {
  const details = { alertId: row.alert_id, responseId: row.id };
  switch (row.action) {
    case 'lock_account':
      await unlockAccount(deps, tx, ctx, row.target_id, details);
      return;
    case 'revoke_sessions':
      await restoreRevokedSessions(deps, tx, ctx, row.target_id, JSON.parse(row.details) as { sessionIds: string[]; revokedAt: string }, details);
      return;
    case 'suspend_api_key':
      await resumeApiKey(deps, tx, ctx, row.target_id, details);
      return;
  }
}
