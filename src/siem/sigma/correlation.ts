/**
 * Sliding-window state of the Sigma correlation types, driven by event time.
 * An entry belongs to the window ending at `now` when now − time ≤ timespan
 * (both ends inclusive). A correlation that fires clears its group, so the
 * next alert needs a full new set of events (no alert per extra event).
 */
import type { CorrelationSpec, CountCondition } from './types.js';

/** One hit of a referenced rule, as a correlation sees it. */
export interface CorrInput {
  refPos: number;
  time: number;
  indexes: number[];
  groupKey: string;
  groupVals: string[];
  /** value_count: the counted field's value (undefined when absent: the hit is ignored). */
  value?: string | undefined;
}

export interface Fired {
  indexes: number[];
  groupVals: string[];
}

export interface Correlator {
  add(input: CorrInput): Fired | null;
  snapshot(): unknown;
  restore(state: unknown): void;
}

/** Memory bounds: entries kept per group and indexes reported per alert. */
export const MAX_ENTRIES_PER_GROUP = 100_000;
export const MAX_INDEXES = 1_000;

export function conditionHolds(c: CountCondition, n: number): boolean {
  return (c.gt === undefined || n > c.gt) && (c.gte === undefined || n >= c.gte) && (c.lt === undefined || n < c.lt)
    && (c.lte === undefined || n <= c.lte) && (c.eq === undefined || n === c.eq);
}

function cap(ix: number[]): number[] {
  return ix.length > MAX_INDEXES ? ix.slice(ix.length - MAX_INDEXES) : ix;
}

interface Entry {
  t: number;
  ix: number[];
  v?: string | undefined;
}

/** Shared group bookkeeping: the map, periodic sweeping of idle groups, snapshot as [key, vals, state]. */
abstract class Windowed<S> implements Correlator {
  protected groups = new Map<string, { vals: string[]; s: S }>();
  #lastSweep = -Infinity;
  constructor(protected readonly spec: CorrelationSpec) {}

  protected abstract fresh(): S;
  protected abstract step(s: S, input: CorrInput): number[] | null;
  /** True when the group holds nothing still inside the window ending at `now`. */
  protected abstract idle(s: S, now: number): boolean;

  add(input: CorrInput): Fired | null {
    this.#sweep(input.time);
    let g = this.groups.get(input.groupKey);
    if (!g) {
      g = { vals: input.groupVals, s: this.fresh() };
      this.groups.set(input.groupKey, g);
    }
    const ix = this.step(g.s, input);
    if (ix === null) return null;
    this.groups.delete(input.groupKey);
    return { indexes: cap(ix), groupVals: g.vals };
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < this.spec.timespanMs) return;
    this.#lastSweep = now;
    for (const [k, g] of this.groups) if (this.idle(g.s, now)) this.groups.delete(k);
  }

  /** A deep copy: later events must not change a snapshot the caller holds (and vice versa for restore). */
  snapshot(): unknown {
    return structuredClone([...this.groups].map(([k, g]) => [k, g.vals, g.s]));
  }

  restore(state: unknown): void {
    this.groups.clear();
    if (!Array.isArray(state)) return;
    for (const row of structuredClone(state) as Array<[string, string[], S]>) this.groups.set(row[0], { vals: row[1], s: this.revive(row[2]) });
  }

  protected revive(s: S): S {
    return s;
  }
}

function evict(entries: Entry[], now: number, span: number): void {
  let n = 0;
  while (n < entries.length && now - entries[n]!.t > span) n++;
  if (n) entries.splice(0, n);
}

class EventCount extends Windowed<Entry[]> {
  protected fresh(): Entry[] {
    return [];
  }
  protected step(entries: Entry[], input: CorrInput): number[] | null {
    evict(entries, input.time, this.spec.timespanMs);
    entries.push({ t: input.time, ix: input.indexes });
    if (entries.length > MAX_ENTRIES_PER_GROUP) entries.shift();
    return conditionHolds(this.spec.condition!, entries.length) ? entries.flatMap((e) => e.ix) : null;
  }
  protected idle(entries: Entry[], now: number): boolean {
    evict(entries, now, this.spec.timespanMs);
    return entries.length === 0;
  }
}

/** value_count: the window's entries plus a count per distinct value, kept as entries come and go. */
interface Distinct {
  entries: Entry[];
  counts: Record<string, number>;
  distinct: number;
}

class ValueCount extends Windowed<Distinct> {
  protected fresh(): Distinct {
    return { entries: [], counts: Object.create(null) as Record<string, number>, distinct: 0 };
  }
  protected step(s: Distinct, input: CorrInput): number[] | null {
    if (input.value === undefined) return null;
    this.#evict(s, input.time);
    s.entries.push({ t: input.time, ix: input.indexes, v: input.value });
    if ((s.counts[input.value] = (s.counts[input.value] ?? 0) + 1) === 1) s.distinct++;
    if (s.entries.length > MAX_ENTRIES_PER_GROUP) this.#drop(s, 1);
    return conditionHolds(this.spec.condition!, s.distinct) ? s.entries.flatMap((e) => e.ix) : null;
  }
  #evict(s: Distinct, now: number): void {
    let n = 0;
    while (n < s.entries.length && now - s.entries[n]!.t > this.spec.timespanMs) n++;
    if (n) this.#drop(s, n);
  }
  #drop(s: Distinct, n: number): void {
    for (const e of s.entries.splice(0, n)) {
      const left = (s.counts[e.v!] ?? 1) - 1;
      if (left > 0) s.counts[e.v!] = left;
      else {
        delete s.counts[e.v!];
        s.distinct--;
      }
    }
  }
  protected idle(s: Distinct, now: number): boolean {
    this.#evict(s, now);
    return s.entries.length === 0;
  }
  protected override revive(s: Distinct): Distinct {
    // JSON has no null-prototype objects: rebuild so a value named "__proto__" stays an ordinary key.
    const counts = Object.create(null) as Record<string, number>;
    for (const [k, v] of Object.entries(s.counts)) counts[k] = v;
    return { ...s, counts };
  }
}

/** temporal: the latest hit of each referenced rule; fires when enough distinct rules sit in one window. */
class Temporal extends Windowed<Array<Entry | null>> {
  protected fresh(): Array<Entry | null> {
    return this.spec.rules.map(() => null);
  }
  protected step(last: Array<Entry | null>, input: CorrInput): number[] | null {
    last[input.refPos] = { t: input.time, ix: input.indexes };
    this.#expire(last, input.time);
    const seen = last.filter((e) => e !== null) as Entry[];
    const ok = this.spec.condition ? conditionHolds(this.spec.condition, seen.length) : seen.length === last.length;
    return ok ? seen.sort((a, b) => a.t - b.t).flatMap((e) => e.ix) : null;
  }
  #expire(last: Array<Entry | null>, now: number): void {
    for (let i = 0; i < last.length; i++) if (last[i] && now - last[i]!.t > this.spec.timespanMs) last[i] = null;
  }
  protected idle(last: Array<Entry | null>, now: number): boolean {
    this.#expire(last, now);
    return last.every((e) => e === null);
  }
}

/**
 * temporal_ordered: chains[k] is the best partial sequence rules[0..k] seen so
 * far — the one that started latest, so it has the most room left in the window.
 */
class TemporalOrdered extends Windowed<Array<Entry | null>> {
  protected fresh(): Array<Entry | null> {
    return this.spec.rules.map(() => null);
  }
  protected step(chains: Array<Entry | null>, input: CorrInput): number[] | null {
    const span = this.spec.timespanMs;
    const p = input.refPos;
    this.#expire(chains, input.time);
    let cand: Entry | null = null;
    if (p === 0) cand = { t: input.time, ix: input.indexes };
    else {
      const prev = chains[p - 1];
      if (prev && input.time - prev.t <= span) cand = { t: prev.t, ix: [...prev.ix, ...input.indexes] };
    }
    if (!cand) return null;
    const cur = chains[p];
    if (!cur || cur.t <= cand.t) chains[p] = cand;
    const done = this.spec.condition ? conditionHolds(this.spec.condition, p + 1) : p === chains.length - 1;
    return done ? chains[p]!.ix : null;
  }
  #expire(chains: Array<Entry | null>, now: number): void {
    for (let i = 0; i < chains.length; i++) if (chains[i] && now - chains[i]!.t > this.spec.timespanMs) chains[i] = null;
  }
  protected idle(chains: Array<Entry | null>, now: number): boolean {
    this.#expire(chains, now);
    return chains.every((e) => e === null);
  }
}

export function createWindowed(spec: CorrelationSpec): Correlator {
  switch (spec.type) {
    case 'event_count': return new EventCount(spec);
    case 'value_count': return new ValueCount(spec);
    case 'temporal': return new Temporal(spec);
    case 'temporal_ordered': return new TemporalOrdered(spec);
    default: throw new Error(`not a windowed correlation: ${spec.type}`);
  }
}

export { Windowed };
