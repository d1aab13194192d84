/**
 * Sliding-window state of the Sigma correlation types, driven by event time.
 * An entry belongs to the window ending at `now` when now − time ≤ timespan
 * (both ends inclusive). A correlation that fires clears its group, so the
 * next alert needs a full new set of events (no alert per extra event).
 */
import type { CorrelationSpec, CountCondition } from './types.js';
import { Window } from './window.js';

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

  /** A copy: later events must not change a snapshot the caller holds (and vice versa for restore). */
  snapshot(): unknown {
    return [...this.groups].map(([k, g]) => [k, [...g.vals], this.encode(g.s)]);
  }

  /** Groups whose state does not decode (another engine version wrote it) start afresh. */
  restore(state: unknown): void {
    this.groups.clear();
    if (!Array.isArray(state)) return;
    for (const row of state as unknown[]) {
      if (!Array.isArray(row) || typeof row[0] !== 'string' || !Array.isArray(row[1])) continue;
      const s = this.decode(row[2]);
      if (s !== null) this.groups.set(row[0], { vals: (row[1] as unknown[]).map(String), s });
    }
  }

  protected encode(s: S): unknown {
    return structuredClone(s);
  }

  protected decode(x: unknown): S | null {
    return Array.isArray(x) && x.length === this.spec.rules.length ? (structuredClone(x) as S) : null;
  }
}

class EventCount extends Windowed<Window> {
  protected fresh(): Window {
    return new Window(false);
  }
  protected step(w: Window, input: CorrInput): number[] | null {
    w.insert(input.time, input.indexes);
    w.evict(input.time, this.spec.timespanMs);
    if (w.size > MAX_ENTRIES_PER_GROUP) w.dropFirst(w.size - MAX_ENTRIES_PER_GROUP);
    return w.size > 0 && conditionHolds(this.spec.condition!, w.size) ? w.ix.slice() : null;
  }
  protected idle(w: Window, now: number): boolean {
    w.evict(now, this.spec.timespanMs);
    return w.size === 0;
  }
  protected override encode(w: Window): unknown {
    return w.encode();
  }
  protected override decode(x: unknown): Window | null {
    return Window.decode(x, false);
  }
}

function decrement(counts: Map<string, number>, v: string): void {
  const left = (counts.get(v) ?? 1) - 1;
  if (left > 0) counts.set(v, left);
  else counts.delete(v);
}

/** value_count: the window plus a count per distinct value, kept as entries come and go (not persisted: rebuilt). */
interface Distinct {
  w: Window;
  counts: Map<string, number>;
}

class ValueCount extends Windowed<Distinct> {
  protected fresh(): Distinct {
    return { w: new Window(true), counts: new Map() };
  }
  protected step(s: Distinct, input: CorrInput): number[] | null {
    if (input.value === undefined) return null;
    s.w.insert(input.time, input.indexes, input.value);
    s.counts.set(input.value, (s.counts.get(input.value) ?? 0) + 1);
    const drop = (v: string): void => decrement(s.counts, v);
    s.w.evict(input.time, this.spec.timespanMs, drop);
    if (s.w.size > MAX_ENTRIES_PER_GROUP) s.w.dropFirst(s.w.size - MAX_ENTRIES_PER_GROUP, drop);
    return s.w.size > 0 && conditionHolds(this.spec.condition!, s.counts.size) ? s.w.ix.slice() : null;
  }
  protected idle(s: Distinct, now: number): boolean {
    s.w.evict(now, this.spec.timespanMs, (v) => decrement(s.counts, v));
    return s.w.size === 0;
  }
  protected override encode(s: Distinct): unknown {
    return s.w.encode();
  }
  protected override decode(x: unknown): Distinct | null {
    const w = Window.decode(x, true);
    if (!w) return null;
    const counts = new Map<string, number>();
    for (const v of w.v!) counts.set(v, (counts.get(v) ?? 0) + 1);
    return { w, counts };
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
