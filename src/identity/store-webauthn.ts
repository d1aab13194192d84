import type { Tx } from '../db/index.js';
import type { SessionsTable, WebauthnCredentialsTable } from './tables.js';

// WebAuthn credentials and the one pending challenge a session may hold.

export async function listCredentials(tx: Tx, accountId: string): Promise<WebauthnCredentialsTable[]> {
  const rows = await tx.selectFrom('webauthn_credentials').selectAll().where('account_id', '=', accountId).orderBy('created_at').execute();
  // bigint comes back as a string from pg.
  return rows.map((r) => ({ ...r, counter: Number(r.counter) }));
}

export async function insertCredential(tx: Tx, row: WebauthnCredentialsTable): Promise<void> {
  await tx.insertInto('webauthn_credentials').values(row).execute();
}

export async function credentialExists(tx: Tx, id: string): Promise<boolean> {
  return Boolean(await tx.selectFrom('webauthn_credentials').select('id').where('id', '=', id).executeTakeFirst());
}

/**
 * Moves the signature counter strictly forward (an authenticator without a
 * counter stays at 0), compare-and-swap on the value read: a concurrent replay loses.
 */
export async function advanceCounter(tx: Tx, id: string, accountId: string, from: number, to: number, now: string): Promise<boolean> {
  if (!(to > from || (to === 0 && from === 0))) return false;
  const r = await tx
    .updateTable('webauthn_credentials')
    .set({ counter: to, last_used_at: now })
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .where('counter', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function deleteCredential(tx: Tx, id: string, accountId: string): Promise<boolean> {
  const r = await tx.deleteFrom('webauthn_credentials').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

export async function setChallenge(tx: Tx, sessionId: string, challenge: string | null): Promise<void> {
  await tx.updateTable('sessions').set({ challenge }).where('id', '=', sessionId).execute();
}

/** Takes the session's challenge once: true for exactly one caller. */
export async function takeChallenge(tx: Tx, session: Pick<SessionsTable, 'id'>, challenge: string): Promise<boolean> {
  const r = await tx.updateTable('sessions').set({ challenge: null }).where('id', '=', session.id).where('challenge', '=', challenge).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
