/** Exponential backoff with jitter for forwarder retries. */
export interface BackoffOptions {
  /** Delay after the first failure (before jitter). */
  baseMs: number;
  /** Cap of the delay. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before the next attempt after `failures` consecutive failures (≥ 1):
 * `min(max, base · 2^(failures-1))`, of which the upper half is random
 * ("equal jitter"), so forwarders that failed together do not retry in step
 * while the delay still grows with every failure. `random` returns [0, 1).
 */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(failures - 1, 40));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
