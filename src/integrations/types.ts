/** The kinds of secret an integration holds. */
export type IntegrationKind = 'oauth' | 'webhook';

/** What a client sends to store an integration; the secrets never come back. */
export type CreateIntegrationInput =
  | {
      kind: 'oauth';
      name: string;
      provider: string;
      accessToken: string;
      refreshToken?: string | undefined;
      scopes: string[];
      expiresAt?: string | undefined;
      subjectId?: string | undefined;
    }
  | { kind: 'webhook'; name: string; provider: string; secret: string; subjectId?: string | undefined };

/** An integration as the API shows it: metadata and a fingerprint, never a secret. */
export interface Integration {
  id: string;
  tenantId: string;
  kind: IntegrationKind;
  name: string;
  provider: string;
  scopes: string[];
  expiresAt: string | null;
  /** The data subject whose key seals the secret (crypto-shredded with it), if any. */
  subjectId: string | null;
  /** `hmac-sha256:` + HMAC of the primary secret under a tenant key: compare without revealing. */
  fingerprint: string;
  hasRefreshToken: boolean;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}

/**
 * The decrypted secret handed to server-side code by `withSecret`. Buffers,
 * zeroed as soon as the callback returns: copy nothing out of it.
 */
export interface IntegrationSecret {
  readonly kind: IntegrationKind;
  readonly provider: string;
  readonly accessToken?: Buffer;
  readonly refreshToken?: Buffer;
  readonly webhookSecret?: Buffer;
}

/** A payload signed with a webhook secret (Stripe/Standard Webhooks style `t=…,v1=…`). */
export interface SignedPayload {
  algorithm: 'hmac-sha256';
  timestamp: number;
  /** hex HMAC-SHA256(secret, `${timestamp}.${payload}`). */
  signature: string;
  /** Ready for a `Custos-Signature` header. */
  header: string;
}
