import type { Insertable, Selectable } from 'kysely';
import { reusableInsert, type Tx } from '../../db/index.js';
import type { AuditOutboxTable } from '../../db/types.js';

export type OutboxRow = Selectable<AuditOutboxTable>;

/** One row per audited change, so on every mutating request: the compiled INSERT is reused. */
export const insertOutbox: (tx: Tx, row: Insertable<AuditOutboxTable>) => Promise<void> = reusableInsert('audit_outbox', [
  'event_id', 'recorded_at', 'tenant_id', 'class_uid', 'activity_id', 'event', 'action',
  'actor_type', 'actor_id', 'target_type', 'target_id', 'outcome',
]);

/** Deletes exactly the rows `seqs` (never a range: on PostgreSQL a row may commit late with a lower seq). */
export async function deleteOutbox(tx: Tx, seqs: readonly number[]): Promise<void> {
  for (let i = 0; i < seqs.length; i += 500) {
    await tx.deleteFrom('audit_outbox').where('seq', 'in', seqs.slice(i, i + 500)).execute();
  }
}

/** True when some outbox row waits for the sequencer. */
export async function outboxPending(tx: Tx): Promise<boolean> {
  return (await tx.selectFrom('audit_outbox').select('seq').limit(1).executeTakeFirst()) !== undefined;
}

/** Oldest first, from `afterSeq`. */
export async function readOutbox(tx: Tx, afterSeq: number, limit: number): Promise<OutboxRow[]> {
  return tx.selectFrom('audit_outbox').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
}

