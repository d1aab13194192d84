import type { Insertable, Selectable } from 'kysely';
import type { Tx } from '../../db/index.js';
import type { AuditOutboxTable } from '../../db/types.js';

export type OutboxRow = Selectable<AuditOutboxTable>;

export async function insertOutbox(tx: Tx, row: Insertable<AuditOutboxTable>): Promise<void> {
  await tx.insertInto('audit_outbox').values(row).execute();
}

/** Oldest first, from `afterSeq`. */
export async function readOutbox(tx: Tx, afterSeq: number, limit: number): Promise<OutboxRow[]> {
  return tx.selectFrom('audit_outbox').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
}

