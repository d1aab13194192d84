import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { identityErrors } from './errors.js';
import { clearThrottle, ensureThrottle, findThrottle, lockThrottle, releaseAttempt, resetWindow, takeAttempt } from './store.js';

export interface LockoutPolicy {
  accountMax: number;
  ipMax: number;
  windowMinutes: number;
  baseLockSeconds: number;
  maxLockMinutes: number;
}

/**
 * Brute-force counters (per account, per source address, per account's MFA).
 * An attempt is *taken* before the password or code is evaluated, by a
 * conditional UPDATE (`attempts < max AND not locked`), so however many
 * requests race, at most `max` are evaluated per window. A failure that
 * fills the window locks the key for base·2^lockouts (capped); a success
 * clears the account's (or its MFA's) counter and gives back the address's attempt, so
 * only failures accumulate (a busy office behind one address is not locked out). Unknown accounts are counted by their email
 * index exactly like known ones, so a lock reveals nothing.
 */
export interface Throttle {
  /** Takes one attempt on every key, or none and throws AUTH_LOCKED. */
  take(keys: ReadonlyArray<{ key: string; max: number }>): Promise<void>;
  fail(keys: ReadonlyArray<{ key: string; max: number }>): Promise<void>;
  /** Clears `key` and gives back the attempt the success took on each shared key in `release` (an address): only failures fill those. */
  succeed(key: string, release?: readonly string[]): Promise<void>;
}

export function createThrottle(deps: { db: Db; clock: Clock; policy: LockoutPolicy }): Throttle {
  const { db, clock, policy } = deps;
  const windowMs = policy.windowMinutes * 60_000;
  const lockMs = (lockouts: number) => Math.min(policy.baseLockSeconds * 1000 * 2 ** Math.min(lockouts, 20), policy.maxLockMinutes * 60_000);
  return {
    async take(keys) {
      const now = clock.now();
      const iso = now.toISOString();
      // A refusal throws inside the unit of work, so attempts taken on the other keys roll back.
      await db.write(async (tx) => {
        for (const { key, max } of keys) {
          await ensureThrottle(tx, key, iso);
          await resetWindow(tx, key, new Date(now.getTime() - windowMs).toISOString(), iso);
          if (await takeAttempt(tx, key, max, iso)) continue;
          const row = await findThrottle(tx, key);
          const until = row?.locked_until ? Date.parse(row.locked_until) : now.getTime() + policy.baseLockSeconds * 1000;
          throw identityErrors.locked(Math.max(1, Math.ceil((until - now.getTime()) / 1000)));
        }
      });
    },
    async fail(keys) {
      const now = clock.now();
      const iso = now.toISOString();
      await db.write(async (tx) => {
        for (const { key, max } of keys) {
          const row = await findThrottle(tx, key);
          if (!row || row.attempts < max || (row.locked_until && row.locked_until > iso)) continue;
          await lockThrottle(tx, key, new Date(now.getTime() + lockMs(row.lockouts)).toISOString());
        }
      });
    },
    async succeed(key, release = []) {
      await db.write(async (tx) => {
        await clearThrottle(tx, key);
        for (const k of release) await releaseAttempt(tx, k);
      });
    },
  };
}
