/**
 * `type: new_value` (a Custos extension, not in the Sigma spec): per group,
 * the values of a field seen within `timespan` (by event time), each with
 * when it was last seen. A value not among them fires — unless the group is
 * still in its `warmup` after its first event, when values are learned
 * quietly (a new API key's first network is not an anomaly). IP addresses are
 * reduced to their network (`mask`) before they are compared.
 */
import type { CorrInput, Correlator, Fired } from './correlation.js';
import { networkOf } from './ip.js';
import type { CorrelationSpec } from './types.js';

/** Values remembered per group; the least recently seen is forgotten beyond this. */
export const MAX_VALUES_PER_GROUP = 10_000;
/**
 * A group (its warm-up start) outlives its values by this many timespans, so a
 * key idle longer than the timespan still alerts on a new network when it
 * returns, instead of silently learning again.
 */
export const GROUP_MEMORY_SPANS = 10;

interface Seen {
  /** Event time of the group's first hit (start of its warm-up). */
  first: number;
  /** Event time of the group's latest hit. */
  last: number;
  /** value → last seen (event time), oldest first. */
  values: Map<string, number>;
}

export class NewValue implements Correlator {
  #groups = new Map<string, { vals: string[]; s: Seen }>();
  #lastSweep = -Infinity;
  constructor(private readonly spec: CorrelationSpec) {}

  add(input: CorrInput): Fired | null {
    if (input.value === undefined) return null;
    const span = this.spec.timespanMs;
    const { warmupMs, mask } = this.spec.newValue!;
    if (input.time - this.#lastSweep >= span) this.#sweep(input.time);
    let g = this.#groups.get(input.groupKey);
    if (!g) {
      g = { vals: input.groupVals, s: { first: input.time, last: input.time, values: new Map() } };
      this.#groups.set(input.groupKey, g);
    }
    g.s.last = Math.max(g.s.last, input.time);
    const v = networkOf(input.value, mask);
    const last = g.s.values.get(v);
    const isNew = last === undefined || input.time - last > span;
    // Re-insert so the map stays ordered by last sighting (oldest first).
    g.s.values.delete(v);
    g.s.values.set(v, Math.max(input.time, last ?? -Infinity));
    if (g.s.values.size > MAX_VALUES_PER_GROUP) g.s.values.delete(g.s.values.keys().next().value!);
    if (!isNew || input.time - g.s.first < warmupMs) return null;
    return { indexes: input.indexes.slice(), groupVals: g.vals };
  }

  /** Forgets values older than the timespan, and groups idle for GROUP_MEMORY_SPANS timespans. */
  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, g] of this.#groups) {
      for (const [v, t] of g.s.values) {
        if (now - t <= this.spec.timespanMs) break;
        g.s.values.delete(v);
      }
      if (g.s.values.size === 0 && now - g.s.last > GROUP_MEMORY_SPANS * this.spec.timespanMs) this.#groups.delete(key);
    }
  }

  snapshot(): unknown {
    return [...this.#groups].map(([key, g]) => [key, [...g.vals], { first: g.s.first, last: g.s.last, values: [...g.s.values] }]);
  }

  restore(state: unknown): void {
    this.#groups.clear();
    if (!Array.isArray(state)) return;
    for (const [key, vals, s] of state as Array<[string, string[], { first: number; last: number; values: Array<[string, number]> }]>)
      this.#groups.set(key, { vals: [...vals], s: { first: s.first, last: s.last, values: new Map(s.values) } });
  }
}
