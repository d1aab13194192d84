import { envelopeKeyId, type EncryptionContext } from '../crypto/index.js';
import type { Keyring } from '../keys/index.js';
import type { RequestContext } from '../shared/context.js';
import type { IntegrationRow } from './store.js';
import type { CreateIntegrationInput, IntegrationSecret } from './types.js';

/** The collection named in every integration envelope's AAD. */
export const PURPOSE = 'integrations';

export type SecretField = 'access_token' | 'refresh_token' | 'webhook_secret';

/** AAD of one secret field: tenant, "integrations", integration id, field (plus the envelope's format version and key). */
export function secretContext(tenantId: string, id: string, field: SecretField): EncryptionContext {
  return { tenantId, purpose: PURPOSE, objectId: id, field };
}

/** The sealed columns of a new integration row. */
export interface SealedSecrets {
  secret: Buffer;
  refresh_secret: Buffer | null;
  fingerprint: string;
  subject_key_id: string | null;
}

function primary(input: CreateIntegrationInput): { field: SecretField; value: string } {
  return input.kind === 'oauth' ? { field: 'access_token', value: input.accessToken } : { field: 'webhook_secret', value: input.secret };
}

/**
 * Seals the secrets of a new integration under the subject's DEK (when
 * `subjectId`) or the tenant DEK, and fingerprints the primary secret with
 * an HMAC under the tenant's index key (a bare hash of a low-entropy token
 * could be brute-forced; this cannot without the key, and does not
 * correlate across tenants). Plaintext buffers are zeroed before returning.
 */
export async function sealSecrets(
  keys: Keyring,
  actx: RequestContext,
  tenantId: string,
  id: string,
  input: CreateIntegrationInput,
): Promise<SealedSecrets> {
  const target = { tenantId, subjectId: input.subjectId ?? null };
  const main = primary(input);
  const plain = Buffer.from(main.value, 'utf8');
  const refresh = input.kind === 'oauth' && input.refreshToken !== undefined ? Buffer.from(input.refreshToken, 'utf8') : null;
  try {
    const secret = await keys.seal(target, plain, secretContext(tenantId, id, main.field), actx);
    const refreshSecret = refresh ? await keys.seal(target, refresh, secretContext(tenantId, id, 'refresh_token'), actx) : null;
    const mac = await keys.blindIndex(tenantId, PURPOSE, 'fingerprint', plain, actx);
    return {
      secret,
      refresh_secret: refreshSecret,
      fingerprint: `hmac-sha256:${mac}`,
      subject_key_id: input.subjectId ? envelopeKeyId(secret) : null,
    };
  } finally {
    plain.fill(0);
    refresh?.fill(0);
  }
}

/** Opens the secrets of a stored row (KEY_DESTROYED once its subject or tenant key is crypto-shredded). */
export async function openSecrets(keys: Keyring, row: IntegrationRow): Promise<IntegrationSecret> {
  const main: SecretField = row.kind === 'oauth' ? 'access_token' : 'webhook_secret';
  const value = await keys.open(Buffer.from(row.secret), secretContext(row.tenant_id, row.id, main));
  if (row.kind === 'webhook') return { kind: 'webhook', provider: row.provider, webhookSecret: value };
  try {
    const refresh = row.refresh_secret ? await keys.open(Buffer.from(row.refresh_secret), secretContext(row.tenant_id, row.id, 'refresh_token')) : undefined;
    return { kind: 'oauth', provider: row.provider, accessToken: value, ...(refresh ? { refreshToken: refresh } : {}) };
  } catch (e) {
    value.fill(0);
    throw e;
  }
}

/** Zeroes every buffer of a secret. */
export function wipeSecret(s: IntegrationSecret): void {
  s.accessToken?.fill(0);
  s.refreshToken?.fill(0);
  s.webhookSecret?.fill(0);
}
