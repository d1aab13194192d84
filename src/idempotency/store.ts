import type { Tx } from '../db/index.js';
import type { IdempotencyKeysTable } from '../db/types.js';

export type IdempotencyRow = IdempotencyKeysTable;

export async function findKey(tx: Tx, principal: string, key: string, now: string): Promise<IdempotencyRow | undefined> {
  return tx
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('principal', '=', principal)
    .where('idem_key', '=', key)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

export async function insertKey(tx: Tx, row: IdempotencyRow): Promise<void> {
  await tx.insertInto('idempotency_keys').values(row).execute();
}

export async function deleteExpired(tx: Tx, now: string): Promise<number> {
  const r = await tx.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
