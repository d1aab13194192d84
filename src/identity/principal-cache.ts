import { performance } from 'node:perf_hooks';
import type { TouchedTable } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { Actor } from '../shared/context.js';

/** Tables an actor is built from: a write to any of them drops every cached principal. */
const AUTH_TABLES = new Set(['sessions', 'accounts', 'api_keys', 'tenant_roles', 'access_requests']);

/** Updates that only record use (written by authentication itself) change no principal. */
const USE_COLUMNS: Record<string, ReadonlySet<string>> = {
  sessions: new Set(['last_seen_at']),
  api_keys: new Set(['last_used_at', 'last_used_ip']),
};

/** True when a write unit may have changed who a token stands for. */
export function changesPrincipals(touched: readonly TouchedTable[]): boolean {
  return touched.some((t) => {
    if (!AUTH_TABLES.has(t.table)) return false;
    const use = USE_COLUMNS[t.table];
    return !(use && t.columns && t.columns.length > 0 && t.columns.every((c) => use.has(c)));
  });
}

interface Entry {
  actor: Actor;
  /** Monotonic milliseconds when resolved. */
  realAt: number;
  /** The service clock's milliseconds when resolved (tests move it). */
  clockAt: number;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export interface PrincipalCache {
  /** The cached actor for `key`, or resolves it (concurrent misses for one key share one resolution). */
  resolve(key: string, compute: () => Promise<Actor | undefined>): Promise<Actor | undefined>;
  /** Drops every entry and any resolution still running (it is not stored). */
  clear(): void;
  readonly size: number;
}

/**
 * Resolved principals (session and API-key actors) reused for at most `ttlMs`
 * by both the monotonic clock and the service clock, so a bearer request does
 * not read the session, account, roles and grants on every call. Bounds:
 * - writes in this process to the tables an actor comes from (revocation,
 *   deactivation, lock, role or grant change) clear the cache once committed,
 *   and a resolution that overlapped such a write is not stored;
 * - changes made by another process (the CLI, a second instance) and
 *   expiries (session idle/absolute, key expiry, grant end) take effect
 *   within `ttlMs`;
 * - only successful resolutions are cached (an invalid token always reaches
 *   the database), at most `maxEntries` of them, oldest dropped first.
 * Cached actors are deep-frozen: requests share them.
 */
export function createPrincipalCache(opts: { ttlMs: number; clock: Clock; maxEntries?: number }): PrincipalCache {
  const max = opts.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Actor | undefined>>();
  let generation = 0;

  const fresh = (e: Entry): boolean => {
    const age = performance.now() - e.realAt;
    const clockAge = opts.clock.now().getTime() - e.clockAt;
    return age < opts.ttlMs && clockAge >= 0 && clockAge < opts.ttlMs;
  };

  async function load(key: string, compute: () => Promise<Actor | undefined>): Promise<Actor | undefined> {
    const gen = generation;
    const realAt = performance.now();
    const clockAt = opts.clock.now().getTime();
    const actor = await compute();
    if (actor && gen === generation) {
      if (entries.size >= max) entries.delete(entries.keys().next().value as string);
      entries.set(key, { actor: deepFreeze(actor), realAt, clockAt });
    }
    return actor;
  }

  return {
    get size() {
      return entries.size;
    },
    resolve(key, compute) {
      if (opts.ttlMs <= 0) return compute();
      const e = entries.get(key);
      if (e) {
        if (fresh(e)) return Promise.resolve(e.actor);
        entries.delete(key);
      }
      let p = inflight.get(key);
      if (!p) {
        p = load(key, compute).finally(() => {
          if (inflight.get(key) === p) inflight.delete(key);
        });
        inflight.set(key, p);
      }
      return p;
    },
    clear() {
      generation += 1;
      entries.clear();
      inflight.clear();
    },
  };
}
