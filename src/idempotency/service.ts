import { createHash } from 'node:crypto';
import type { Db, Tx } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { createError } from '../shared/errors.js';
import { deleteExpired, findKey, insertKey } from './store.js';

export interface StoredResponse {
  status: number;
  body: unknown;
}

/**
 * `Idempotency-Key` on creating requests. The first request's response is
 * stored in the same transaction as what it created (`remember`), so a retry
 * with the same key and body replays it and creates nothing; the same key
 * with another body is refused (422). Keys live 24 hours.
 */
export interface IdempotencyService {
  /** The stored response for this request's key, if any; throws 422 on a key reused with another body. */
  replay(ctx: RequestContext): Promise<StoredResponse | undefined>;
  /** Stores the response inside the creating unit of work. No-op without a key. */
  remember(tx: Tx, ctx: RequestContext, status: number, body: unknown): Promise<void>;
  /** Runs a create with replay and race handling; `run` must call `remember` in its unit. */
  execute(ctx: RequestContext, run: () => Promise<StoredResponse>): Promise<StoredResponse & { replayed: boolean }>;
  purgeExpired(): Promise<number>;
}

const TTL_MS = 24 * 60 * 60 * 1000;

/** Hash of what makes two requests "the same": method, route and canonical body. */
export function requestHash(method: string, route: string, body: unknown): string {
  return createHash('sha256').update(`${method}\n${route}\n`).update(stableJson(body)).digest('base64url');
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export function createIdempotencyService(deps: { db: Db; clock: Clock }): IdempotencyService {
  const { db, clock } = deps;
  const service: IdempotencyService = {
    async replay(ctx) {
      const idem = ctx.idempotency;
      if (!idem) return undefined;
      const row = await db.read((tx) => findKey(tx, idem.principal, idem.key, clock.now().toISOString()));
      if (!row) return undefined;
      if (row.request_hash !== idem.requestHash || row.route !== idem.route || row.method !== idem.method) {
        throw createError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request', 422);
      }
      return { status: row.status_code, body: JSON.parse(row.response) };
    },
    async remember(tx, ctx, status, body) {
      const idem = ctx.idempotency;
      if (!idem) return;
      const now = clock.now();
      await insertKey(tx, {
        principal: idem.principal,
        idem_key: idem.key,
        method: idem.method,
        route: idem.route,
        request_hash: idem.requestHash,
        status_code: status,
        response: JSON.stringify(body),
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + TTL_MS).toISOString(),
      });
    },
    async execute(ctx, run) {
      const prior = await service.replay(ctx);
      if (prior) return { ...prior, replayed: true };
      try {
        return { ...(await run()), replayed: false };
      } catch (e) {
        // A concurrent request with the same key may have won the race: its unit
        // stored the key, ours failed on a unique constraint and rolled back.
        if (ctx.idempotency) {
          const winner = await service.replay(ctx);
          if (winner) return { ...winner, replayed: true };
        }
        throw e;
      }
    },
    purgeExpired: () => db.write((tx) => deleteExpired(tx, clock.now().toISOString())),
  };
  return service;
}
