/** The SIEM's notification queue and rule settings queries (see store.ts). */
import type { Tx } from '../db/index.js';
import type { SiemNotificationsTable, SiemRuleSettingsTable } from './tables.js';

export type NotificationRow = SiemNotificationsTable;
export type SettingsRow = SiemRuleSettingsTable;

export async function insertNotification(tx: Tx, row: NotificationRow): Promise<void> {
  await tx.insertInto('siem_notifications').values(row).execute();
}
/** Pending notifications due at `now`, oldest first. */
export async function dueNotifications(tx: Tx, now: string, limit: number): Promise<NotificationRow[]> {
  return tx
    .selectFrom('siem_notifications')
    .selectAll()
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}
export async function nextDueAt(tx: Tx): Promise<string | undefined> {
  const r = await tx.selectFrom('siem_notifications').select((eb) => eb.fn.min('next_attempt_at').as('at')).where('state', '=', 'pending').executeTakeFirst();
  return r?.at ?? undefined;
}
/** Updates a pending notification only (a second sender cannot undo a `sent`). */
export async function settleNotification(tx: Tx, id: string, patch: Partial<NotificationRow>): Promise<boolean> {
  const r = await tx.updateTable('siem_notifications').set(patch).where('id', '=', id).where('state', '=', 'pending').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
export async function listNotifications(tx: Tx, alertId: string): Promise<NotificationRow[]> {
  return tx.selectFrom('siem_notifications').selectAll().where('alert_id', '=', alertId).orderBy('id').execute();
}

export async function listSettings(tx: Tx): Promise<SettingsRow[]> {
  return tx.selectFrom('siem_rule_settings').selectAll().execute();
}
export async function upsertSettings(tx: Tx, row: SettingsRow): Promise<void> {
  await tx
    .insertInto('siem_rule_settings')
    .values(row)
    .onConflict((oc) =>
      oc.column('rule_id').doUpdateSet({
        enabled: row.enabled,
        level: row.level,
        suppression_seconds: row.suppression_seconds,
        responses: row.responses,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}
/** A cheap fingerprint of the settings (count and newest change): the worker recompiles when it moves. */
export async function settingsVersion(tx: Tx): Promise<string> {
  const r = await tx
    .selectFrom('siem_rule_settings')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('updated_at').as('at')])
    .executeTakeFirst();
  return `${Number(r?.n ?? 0)}|${r?.at ?? ''}`;
}
