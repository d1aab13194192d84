/**
 * The SIEM's queries (with store-queue.ts, the only files of this module
 * that build them): engine state and lease, alerts, notes, responses.
 * Platform tables; no business rules here.
 */
import type { Tx } from '../db/index.js';
import type { AlertState, SiemAlertNotesTable, SiemAlertsTable, SiemResponsesTable, SiemStateTable } from './tables.js';

export type AlertRow = SiemAlertsTable;
export type NoteRow = SiemAlertNotesTable;
export type ResponseRow = SiemResponsesTable;
export type StateRow = SiemStateTable;

// Engine state and lease.
export async function ensureState(tx: Tx, name: string, now: string): Promise<void> {
  await tx
    .insertInto('siem_state')
    .values({ name, next_index: 0, snapshot: null, lease_owner: null, lease_until: null, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}
export async function readState(tx: Tx, name: string): Promise<StateRow | undefined> {
  return tx.selectFrom('siem_state').selectAll().where('name', '=', name).executeTakeFirst();
}
/** Takes or renews the lease when it is free, expired or already ours. */
export async function takeLease(tx: Tx, name: string, owner: string, now: string, until: string): Promise<boolean> {
  const r = await tx
    .updateTable('siem_state')
    .set({ lease_owner: owner, lease_until: until })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
export async function releaseLease(tx: Tx, name: string, owner: string): Promise<void> {
  await tx.updateTable('siem_state').set({ lease_owner: null, lease_until: null }).where('name', '=', name).where('lease_owner', '=', owner).execute();
}
/** Compare-and-set of the cursor: only from `from`, only by the lease holder. */
export async function advanceState(tx: Tx, name: string, owner: string, from: number, to: number, snapshot: string, now: string): Promise<boolean> {
  const r = await tx
    .updateTable('siem_state')
    .set({ next_index: to, snapshot, updated_at: now })
    .where('name', '=', name)
    .where('next_index', '=', from)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

// Alerts.
export async function insertAlert(tx: Tx, row: AlertRow): Promise<void> {
  await tx.insertInto('siem_alerts').values(row).execute();
}
/** The newest unresolved alert of this rule and group, if any. */
export async function findOpenAlert(tx: Tx, ruleId: string, groupKey: string): Promise<AlertRow | undefined> {
  return tx
    .selectFrom('siem_alerts')
    .selectAll()
    .where('rule_id', '=', ruleId)
    .where('group_key', '=', groupKey)
    .where('state', 'in', ['open', 'acknowledged'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}
export async function findAlert(tx: Tx, id: string): Promise<AlertRow | undefined> {
  return tx.selectFrom('siem_alerts').selectAll().where('id', '=', id).executeTakeFirst();
}
export async function updateAlert(tx: Tx, id: string, patch: Partial<AlertRow>): Promise<void> {
  await tx.updateTable('siem_alerts').set(patch).where('id', '=', id).execute();
}
/** Moves the state only from `from` (a concurrent change loses, not overwrites). */
export async function transitionAlert(tx: Tx, id: string, from: AlertState, patch: Partial<AlertRow>): Promise<boolean> {
  const r = await tx.updateTable('siem_alerts').set(patch).where('id', '=', id).where('state', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
export interface AlertFilter {
  state?: AlertState | undefined;
  severity?: string | undefined;
  ruleId?: string | undefined;
  since?: string | undefined;
  beforeId?: string | undefined;
}
/** Newest first (UUIDv7 ids sort by creation). */
export async function listAlerts(tx: Tx, f: AlertFilter, limit: number): Promise<AlertRow[]> {
  let q = tx.selectFrom('siem_alerts').selectAll().orderBy('id', 'desc').limit(limit);
  if (f.state) q = q.where('state', '=', f.state);
  if (f.severity) q = q.where('severity', '=', f.severity as AlertRow['severity']);
  if (f.ruleId) q = q.where('rule_id', '=', f.ruleId);
  if (f.since) q = q.where('last_seen_at', '>=', f.since);
  if (f.beforeId) q = q.where('id', '<', f.beforeId);
  return q.execute();
}

// Notes.
export async function insertNote(tx: Tx, row: NoteRow): Promise<void> {
  await tx.insertInto('siem_alert_notes').values(row).execute();
}
export async function listNotes(tx: Tx, alertId: string): Promise<NoteRow[]> {
  return tx.selectFrom('siem_alert_notes').selectAll().where('alert_id', '=', alertId).orderBy('id').limit(500).execute();
}

// Responses.
export async function insertResponse(tx: Tx, row: ResponseRow): Promise<void> {
  await tx.insertInto('siem_responses').values(row).execute();
}
export async function listResponses(tx: Tx, alertId: string): Promise<ResponseRow[]> {
  return tx.selectFrom('siem_responses').selectAll().where('alert_id', '=', alertId).orderBy('id').execute();
}
export async function findResponse(tx: Tx, alertId: string, id: string): Promise<ResponseRow | undefined> {
  return tx.selectFrom('siem_responses').selectAll().where('alert_id', '=', alertId).where('id', '=', id).executeTakeFirst();
}
/** Marks a response reverted only if it is still applied (one revert wins). */
export async function markReverted(tx: Tx, id: string, by: string, now: string): Promise<boolean> {
  const r = await tx
    .updateTable('siem_responses')
    .set({ state: 'reverted', reverted_at: now, reverted_by: by })
    .where('id', '=', id)
    .where('state', '=', 'applied')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
