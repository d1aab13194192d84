import type { Tx } from '../../db/index.js';

export interface OutboxRow {
  seq: number;
  event_id: string;
  recorded_at: string;
  tenant_id: string | null;
  class_uid: number;
  activity_id: number;
  event: string;
}

export async function insertOutbox(tx: Tx, row: Omit<OutboxRow, 'seq'>): Promise<void> {
  await tx.insertInto('audit_outbox').values(row).execute();
}

/** Oldest first, from `afterSeq`. */
export async function readOutbox(tx: Tx, afterSeq: number, limit: number): Promise<OutboxRow[]> {
  return tx.selectFrom('audit_outbox').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
}

