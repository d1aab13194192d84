import type { Tx } from '../db/index.js';
import type { BootstrapTokensTable } from '../db/types.js';

export async function insertBootstrapToken(tx: Tx, row: BootstrapTokensTable): Promise<void> {
  await tx.insertInto('bootstrap_tokens').values(row).execute();
}

export async function findBootstrapToken(tx: Tx, tokenHash: string): Promise<BootstrapTokensTable | undefined> {
  return tx.selectFrom('bootstrap_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export async function revokeBootstrapTokens(tx: Tx, now: string): Promise<number> {
  const r = await tx.updateTable('bootstrap_tokens').set({ revoked_at: now }).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function countBootstrapTokens(tx: Tx): Promise<number> {
  const row = await tx.selectFrom('bootstrap_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}
