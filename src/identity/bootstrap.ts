import { createHash, randomBytes } from 'node:crypto';
import { ACTIVITY, OCSF, type AuditRecorder } from '../audit/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { Actor, RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { countBootstrapTokens, findBootstrapToken, insertBootstrapToken, revokeBootstrapTokens } from './store.js';

export const BOOTSTRAP_PREFIX = 'cbt_';

/** SHA-256 is right here: the token is 256 random bits, not a password. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * The bootstrap token: printed once by `custos init` (stored only as a hash),
 * it authenticates as platform administrator until it expires or a new one
 * replaces it. The identity module replaces it with the first admin account.
 */
export interface BootstrapService {
  /** Revokes every earlier token and issues a new one; the plaintext is returned once. */
  issue(ctx: RequestContext, ttlHours: number): Promise<{ token: string; expiresAt: string }>;
  /** The actor for a presented token, or undefined. */
  authenticate(token: string): Promise<Actor | undefined>;
  /** True when a token was ever issued. */
  everIssued(): Promise<boolean>;
}

/**
 * How long a verified token is trusted without asking the database again.
 * Revocation in this process clears the cache at once; another process sees
 * it within this time.
 */
const AUTH_CACHE_MS = 5_000;

export function createBootstrapService(deps: { db: Db; audit: AuditRecorder; clock: Clock }): BootstrapService {
  const { db, audit, clock } = deps;
  const cache = new Map<string, { actor: Actor; until: number; expiresAt: string }>();
  return {
    async issue(ctx, ttlHours) {
      const token = `${BOOTSTRAP_PREFIX}${randomBytes(32).toString('base64url')}`;
      const now = clock.now();
      const id = newId();
      const expiresAt = new Date(now.getTime() + ttlHours * 3600_000).toISOString();
      cache.clear();
      await db.write(async (tx) => {
        const revoked = await revokeBootstrapTokens(tx, now.toISOString());
        await insertBootstrapToken(tx, { id, token_hash: hashToken(token), created_at: now.toISOString(), expires_at: expiresAt, revoked_at: null });
        await audit.record(tx, ctx, {
          classUid: OCSF.ACCOUNT_CHANGE,
          activityId: ACTIVITY.CREATE,
          action: 'bootstrap_token.issue',
          kind: 'security',
          outcome: 'success',
          severity: 'high',
          target: { type: 'bootstrap_token', id },
          details: { revokedEarlier: revoked, expiresAt },
        });
      });
      return { token, expiresAt };
    },
    async authenticate(token) {
      if (!token.startsWith(BOOTSTRAP_PREFIX) || token.length > 100) return undefined;
      const hash = hashToken(token);
      const now = clock.now();
      const hit = cache.get(hash);
      if (hit && hit.until > now.getTime() && hit.expiresAt > now.toISOString()) return hit.actor;
      const row = await db.read((tx) => findBootstrapToken(tx, hash));
      if (!row || row.revoked_at || row.expires_at <= now.toISOString()) {
        cache.delete(hash);
        return undefined;
      }
      const actor: Actor = { type: 'bootstrap', id: row.id };
      if (cache.size > 1000) cache.clear();
      cache.set(hash, { actor, until: now.getTime() + AUTH_CACHE_MS, expiresAt: row.expires_at });
      return actor;
    },
    async everIssued() {
      return (await db.read((tx) => countBootstrapTokens(tx))) > 0;
    },
  };
}
