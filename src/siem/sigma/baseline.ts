/**
 * `type: rate_deviation` (a Custos extension, not in the Sigma spec): per
 * group, events are counted in fixed buckets of `timespan` (aligned to the
 * epoch, by event time). Closed buckets — empty ones included — feed an
 * exponentially weighted mean and variance. A group fires once per bucket
 * when, after `warmup` closed buckets, the current count satisfies the
 * condition (the minimum count) and exceeds mean + k·sd. sd is floored at
 * √mean (Poisson noise), so a perfectly regular history does not make every
 * extra event an anomaly.
 */
import { MAX_INDEXES, conditionHolds, type CorrInput, type Correlator, type Fired } from './correlation.js';
import type { CorrelationSpec } from './types.js';

interface Baseline {
  /** Current bucket number (floor(time / timespan)). */
  b: number;
  /** Events in the current bucket. */
  n: number;
  mean: number;
  var: number;
  /** Closed buckets folded into the baseline. */
  seen: number;
  fired: boolean;
  ix: number[];
}

/** Beyond this many empty buckets the baseline has decayed to nothing; the loop stops there. */
const MAX_GAP = 1_000;

export function ewmaStep(s: { mean: number; var: number; seen: number }, x: number, alpha: number): void {
  if (s.seen === 0) {
    s.mean = x;
    s.var = 0;
  } else {
    const diff = x - s.mean;
    const incr = alpha * diff;
    s.mean += incr;
    s.var = (1 - alpha) * (s.var + diff * incr);
  }
  s.seen++;
}

/** The count above which the current bucket is anomalous. */
export function threshold(s: { mean: number; var: number }, k: number): number {
  return s.mean + k * Math.max(Math.sqrt(s.var), Math.sqrt(s.mean));
}

export class RateDeviation implements Correlator {
  #groups = new Map<string, { vals: string[]; s: Baseline }>();
  #sweptAt = -Infinity;
  constructor(private readonly spec: CorrelationSpec) {}

  add(input: CorrInput): Fired | null {
    const { k, alpha, warmup } = this.spec.deviation!;
    const bucket = Math.floor(input.time / this.spec.timespanMs);
    if (bucket > this.#sweptAt) this.#sweep(bucket);
    let g = this.#groups.get(input.groupKey);
    if (!g) {
      g = { vals: input.groupVals, s: { b: bucket, n: 0, mean: 0, var: 0, seen: 0, fired: false, ix: [] } };
      this.#groups.set(input.groupKey, g);
    }
    const s = g.s;
    if (bucket > s.b) {
      ewmaStep(s, s.n, alpha);
      const gap = Math.min(bucket - s.b - 1, MAX_GAP);
      for (let i = 0; i < gap; i++) ewmaStep(s, 0, alpha);
      s.b = bucket;
      s.n = 0;
      s.fired = false;
      s.ix = [];
    }
    // A late event (older bucket) counts in the current one: buckets never reopen.
    s.n++;
    if (s.ix.length < MAX_INDEXES) s.ix.push(...input.indexes);
    if (s.fired || s.seen < warmup || !conditionHolds(this.spec.condition!, s.n) || s.n <= threshold(s, k)) return null;
    s.fired = true;
    return { indexes: s.ix.slice(), groupVals: g.vals };
  }

  /** Drops groups idle for more than MAX_GAP buckets: their baseline has decayed to nothing. */
  #sweep(bucket: number): void {
    this.#sweptAt = bucket;
    for (const [key, g] of this.#groups) if (bucket - g.s.b > MAX_GAP) this.#groups.delete(key);
  }

  snapshot(): unknown {
    return [...this.#groups].map(([key, g]) => [key, [...g.vals], { ...g.s, ix: g.s.ix.slice() }]);
  }

  restore(state: unknown): void {
    this.#groups.clear();
    if (!Array.isArray(state)) return;
    for (const row of state as Array<[string, string[], Baseline]>) {
      const s = row[2];
      if (typeof row[0] !== 'string' || !Array.isArray(row[1]) || !s || typeof s.b !== 'number' || !Array.isArray(s.ix)) continue;
      this.#groups.set(row[0], { vals: row[1].map(String), s: { b: s.b, n: s.n, mean: s.mean, var: s.var, seen: s.seen, fired: s.fired === true, ix: s.ix.slice() } });
    }
  }

  /** Read-only view for tests and operators: the baseline of one group. */
  baseline(groupKey: string): Readonly<Baseline> | undefined {
    return this.#groups.get(groupKey)?.s;
  }
}
