/**
 * Retention: entries stay at least `audit.retentionDays` (>= 365) and the
 * setting can only be raised. The highest value ever used is kept in
 * audit_state; starting with a lower one is refused (AUDIT_RETENTION_LOWERED).
 * The database enforces the floor of 365 days on every prune by itself.
 */
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { auditLogError } from './errors.js';
import { readState, writeState } from './store.js';

const RETENTION = 'retention.days';
const DAY_MS = 86_400_000;

/** Records `days` as the retention in force; throws AUDIT_RETENTION_LOWERED if a higher value was used before. */
export async function ensureRetention(db: Db, days: number, clock: Clock): Promise<number> {
  return db.write(async (tx) => {
    const stored = Number((await readState(tx, RETENTION)) ?? 0);
    if (days < stored) {
      throw auditLogError('RETENTION_LOWERED', `config: audit.retentionDays is ${days} but ${stored} was used before: retention can only be raised`);
    }
    if (days > stored) await writeState(tx, RETENTION, String(days), clock.now().toISOString());
    return days;
  });
}

/** The latest cut-off an archive may use now: entries must be at least `days` old. */
export function retentionCutoff(days: number, clock: Clock): Date {
  return new Date(clock.now().getTime() - days * DAY_MS);
}
