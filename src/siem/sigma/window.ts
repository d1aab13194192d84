/**
 * The entries of one group's sliding window, column by column (times,
 * index counts, flattened log indexes, optional values) rather than one
 * object per event: less garbage per event, and a compact snapshot (times
 * and indexes delta-encoded).
 */
export class Window {
  /** Event times, ascending. */
  t: number[] = [];
  /** Log indexes per entry (1 for an event; more for a chained correlation's alert). */
  k: number[] = [];
  /** All entries' log indexes, in entry order. */
  ix: number[] = [];
  /** value_count: each entry's value. */
  v: string[] | null;

  constructor(withValues: boolean) {
    this.v = withValues ? [] : null;
  }

  get size(): number {
    return this.t.length;
  }

  /** Adds an entry in time order (a late event goes where its time puts it). */
  insert(time: number, indexes: number[], value?: string): void {
    let pos = this.t.length;
    while (pos > 0 && this.t[pos - 1]! > time) pos--;
    if (pos === this.t.length) {
      this.t.push(time);
      this.k.push(indexes.length);
      for (const i of indexes) this.ix.push(i);
      this.v?.push(value ?? '');
      return;
    }
    let at = this.ix.length;
    for (let e = this.t.length - 1; e >= pos; e--) at -= this.k[e]!;
    this.t.splice(pos, 0, time);
    this.k.splice(pos, 0, indexes.length);
    this.ix.splice(at, 0, ...indexes);
    this.v?.splice(pos, 0, value ?? '');
  }

  /** Drops the oldest `n` entries; `onDrop` sees each dropped value. */
  dropFirst(n: number, onDrop?: (value: string) => void): void {
    if (n <= 0) return;
    let m = 0;
    for (let e = 0; e < n; e++) m += this.k[e]!;
    this.t.splice(0, n);
    this.k.splice(0, n);
    this.ix.splice(0, m);
    if (this.v) for (const x of this.v.splice(0, n)) onDrop?.(x);
  }

  /**
   * Drops entries outside the window ending at the newest time (or `now` when
   * later): those more than `span` older. Inclusive at the edge.
   */
  evict(now: number, span: number, onDrop?: (value: string) => void): void {
    const end = Math.max(now, this.t[this.t.length - 1] ?? now);
    let n = 0;
    while (n < this.t.length && end - this.t[n]! > span) n++;
    this.dropFirst(n, onDrop);
  }

  encode(): unknown {
    const allOnes = this.k.every((x) => x === 1);
    const out: Record<string, unknown> = { t: deltas(this.t), ix: deltas(this.ix) };
    if (!allOnes) out.k = this.k;
    if (this.v) out.v = this.v;
    return out;
  }

  /** Rebuilds from encode(); null when the shape is not one encode() wrote. */
  static decode(x: unknown, withValues: boolean): Window | null {
    const o = x as { t?: unknown; ix?: unknown; k?: unknown; v?: unknown } | null;
    if (!o || !isNums(o.t) || !isNums(o.ix) || (o.k !== undefined && !isNums(o.k))) return null;
    const w = new Window(withValues);
    w.t = undeltas(o.t);
    w.ix = undeltas(o.ix);
    w.k = (o.k as number[] | undefined) ?? w.t.map(() => 1);
    if (withValues) {
      if (!Array.isArray(o.v) || !o.v.every((s) => typeof s === 'string') || o.v.length !== w.t.length) return null;
      w.v = [...(o.v as string[])];
    }
    if (w.k.length !== w.t.length || w.k.reduce((a, b) => a + b, 0) !== w.ix.length) return null;
    return w;
  }
}

function isNums(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((n) => typeof n === 'number' && Number.isFinite(n));
}

function deltas(a: number[]): number[] {
  return a.map((x, i) => (i === 0 ? x : x - a[i - 1]!));
}

function undeltas(a: number[]): number[] {
  const out = new Array<number>(a.length);
  let acc = 0;
  for (let i = 0; i < a.length; i++) out[i] = acc = i === 0 ? a[0]! : acc + a[i]!;
  return out;
}
