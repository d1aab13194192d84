/**
 * Field access during evaluation. Every distinct event path gets a slot at
 * compile time (paths pre-split); per event, a slot's value and its lower-case
 * form are computed at most once and shared by every rule that reads it
 * (a generation counter invalidates them without clearing arrays).
 */

export class SlotTable {
  readonly #index = new Map<string, number>();
  readonly segs: string[][] = [];
  readonly paths: string[] = [];

  slot(path: string): number {
    let n = this.#index.get(path);
    if (n === undefined) {
      n = this.segs.length;
      this.#index.set(path, n);
      this.segs.push(path.split('.'));
      this.paths.push(path);
    }
    return n;
  }
}

const MAX_LEAVES = 10_000;

/** Resolves a dotted path; arrays on the way fan out (the result is then an array of values). */
export function resolvePath(event: unknown, segs: readonly string[], path: string): unknown {
  let cur: unknown = event;
  for (let i = 0; i < segs.length; i++) {
    if (cur === null || typeof cur !== 'object') return flatKey(event, segs, path);
    if (Array.isArray(cur)) return fanOut(cur, segs, i);
    cur = (cur as Record<string, unknown>)[segs[i]!];
  }
  return cur === undefined ? flatKey(event, segs, path) : cur;
}

/** Flattened events (ECS `"source.ip": …` at top level) hold the whole dotted name as one key. */
function flatKey(event: unknown, segs: readonly string[], path: string): unknown {
  if (segs.length < 2 || event === null || typeof event !== 'object') return undefined;
  return (event as Record<string, unknown>)[path];
}

function fanOut(arr: unknown[], segs: readonly string[], from: number): unknown {
  const rest = segs.slice(from);
  const out: unknown[] = [];
  for (const el of arr) {
    const v = resolvePath(el, rest, rest.join('.'));
    if (Array.isArray(v)) out.push(...v);
    else if (v !== undefined) out.push(v);
  }
  return out.length ? out : undefined;
}

export class EvalCtx {
  event: Readonly<Record<string, unknown>> = {};
  #gen = 0;
  #valGen: Int32Array;
  #lowGen: Int32Array;
  #vals: unknown[];
  #lows: string[];
  #leavesGen = -1;
  #leaves: string[] = [];
  #leavesLower: string[] = [];

  constructor(readonly table: SlotTable) {
    const n = table.segs.length;
    this.#valGen = new Int32Array(n).fill(-1);
    this.#lowGen = new Int32Array(n).fill(-1);
    this.#vals = new Array<unknown>(n).fill(undefined);
    this.#lows = new Array<string>(n).fill('');
  }

  begin(event: Readonly<Record<string, unknown>>): void {
    this.event = event;
    this.#gen = (this.#gen + 1) | 0;
  }

  get(slot: number): unknown {
    if (this.#valGen[slot] === this.#gen) return this.#vals[slot];
    const v = resolvePath(this.event, this.table.segs[slot]!, this.table.paths[slot]!);
    this.#vals[slot] = v;
    this.#valGen[slot] = this.#gen;
    return v;
  }

  /** Lower-case form of a slot holding a string (call only when get(slot) is a string). */
  lower(slot: number): string {
    if (this.#lowGen[slot] === this.#gen) return this.#lows[slot]!;
    const s = (this.get(slot) as string).toLowerCase();
    this.#lows[slot] = s;
    this.#lowGen[slot] = this.#gen;
    return s;
  }

  /** Every string and number in the event (for keyword searches), with lower-case forms. */
  leaves(): { raw: string[]; lower: string[] } {
    if (this.#leavesGen !== this.#gen) {
      this.#leaves = [];
      collect(this.event, this.#leaves, 0);
      this.#leavesLower = this.#leaves.map((s) => s.toLowerCase());
      this.#leavesGen = this.#gen;
    }
    return { raw: this.#leaves, lower: this.#leavesLower };
  }
}

function collect(v: unknown, out: string[], depth: number): void {
  if (out.length >= MAX_LEAVES || depth > 32) return;
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) collect(x, out, depth + 1);
}
