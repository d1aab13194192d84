import { reusableInsert, type Tx } from '../db/index.js';
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

/** Once per keyed create: the compiled INSERT is reused. */
export const insertKey: (tx: Tx, row: IdempotencyRow) => Promise<void> = reusableInsert('idempotency_keys', [
  'principal', 'idem_key', 'method', 'route', 'request_hash', 'status_code', 'response', 'created_at', 'expires_at',
]);

export async function deleteExpired(tx: Tx, now: string): Promise<number> {
  const r = await tx.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
