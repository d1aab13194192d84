/**
 * compileRuleSet: rules → closures, once. Per event: every needed detection
 * predicate runs against a shared slot cache; hits feed the correlations in
 * dependency order (a correlation may refer to another); matches of rules
 * that are enabled and meant to stand alone (`generate`) are returned.
 */
import { EvalCtx, SlotTable } from './access.js';
import { RateDeviation } from './baseline.js';
import { createWindowed, type Correlator } from './correlation.js';
import { NewValue } from './new-value.js';
import { compileDetection } from './detection.js';
import { applyFilters } from './filters.js';
import { Prefilter, ruleKey, type Key } from './prefilter.js';
import { ruleInvalid, stateInvalid } from './errors.js';
import type { Pred } from './matchers.js';
import { resolveFor } from './pipeline.js';
import { RuleProblem } from './problem.js';
import type { CompileOptions, CorrelationRule, RuleInfo, RuleSet, SigmaMatch, SigmaRule } from './types.js';

const EMPTY: SigmaMatch[] = [];
Object.freeze(EMPTY);

/** Per referenced rule of a correlation: how to read the group-by values and the counted field. */
interface RefReader {
  node: number;
  groupSlots: number[][];
  valueSlots: number[] | null;
  /** Per group-by field: where it sits among a referenced correlation's own group values (reused), else -1. */
  fromGroup: number[];
}

interface Node {
  rule: SigmaRule;
  info: RuleInfo;
  emit: boolean;
  /** Evaluated at all (enabled, or feeding a running correlation). */
  live: boolean;
  /** Detections: the plain-equality field the rule requires, for the prefilter. */
  key: Key | null;
  pred: Pred | null;
  corr: Correlator | null;
  refs: RefReader[];
  /** Positions in `refs` by node, descending (an event may stand for several positions). */
  fired: { gen: number; indexes: number[]; groupVals: string[] };
}

function info(r: SigmaRule): RuleInfo {
  return { id: r.id, title: r.title, level: r.level, kind: r.kind, tags: r.tags };
}

function problem(r: SigmaRule, e: unknown): never {
  if (e instanceof RuleProblem) throw ruleInvalid({ source: r.source, rule: r.id }, e.path, e.message);
  throw e;
}

export function compileRuleSet(input: SigmaRule[], opts: CompileOptions = {}): RuleSet {
  const rules = applyFilters(input, opts.filters ?? []);
  const enabled = opts.isEnabled ?? (() => true);
  const slots = new SlotTable();
  const vars = opts.mapping?.vars ?? {};
  const byRef = new Map<string, number>();
  const nodes: Node[] = rules.map((rule, i) => {
    if (byRef.has(rule.id) && rules[byRef.get(rule.id)!]!.id === rule.id)
      throw ruleInvalid({ source: rule.source, rule: rule.id }, 'id', 'another rule has the same id');
    byRef.set(rule.id, i);
    if (rule.name) byRef.set(rule.name, i);
    return { rule, info: info(rule), emit: false, live: false, key: null, pred: null, corr: null, refs: [], fired: { gen: -1, indexes: [], groupVals: [] } };
  });
  const order = topoOrder(nodes, byRef);
  markLive(nodes, order, byRef, enabled);
  for (const n of nodes) {
    if (!n.live) continue;
    try {
      if (n.rule.kind === 'detection') {
        const map = resolveFor(opts.mapping, n.rule.logsource);
        n.pred = compileDetection(n.rule, map, slots, vars);
        n.key = ruleKey(n.rule, map, slots, vars);
      }
      else {
        const spec = n.rule.correlation;
        n.corr = spec.type === 'rate_deviation' ? new RateDeviation(spec) : spec.type === 'new_value' ? new NewValue(spec) : createWindowed(spec);
        n.refs = refReaders(n.rule, nodes, byRef, slots, opts);
      }
    } catch (e) {
      problem(n.rule, e);
    }
  }
  return new CompiledRuleSet(nodes, order.filter((i) => nodes[i]!.live && nodes[i]!.corr !== null), slots, opts.prefilter !== false);
}

/** Correlations after the rules they refer to; unknown references and cycles are errors. */
function topoOrder(nodes: Node[], byRef: Map<string, number>): number[] {
  const state = new Array<number>(nodes.length).fill(0);
  const out: number[] = [];
  const visit = (i: number): void => {
    if (state[i] === 2) return;
    const r = nodes[i]!.rule;
    if (state[i] === 1) throw ruleInvalid({ source: r.source, rule: r.id }, 'correlation.rules', 'correlation rules refer to each other in a cycle');
    state[i] = 1;
    if (r.kind === 'correlation') {
      r.correlation.rules.forEach((ref, k) => {
        const j = byRef.get(ref);
        if (j === undefined) throw ruleInvalid({ source: r.source, rule: r.id }, `correlation.rules[${k}]`, `no rule with id or name "${ref}"`);
        visit(j);
      });
    }
    state[i] = 2;
    out.push(i);
  };
  nodes.forEach((_, i) => visit(i));
  return out;
}

function markLive(nodes: Node[], order: number[], byRef: Map<string, number>, enabled: (id: string) => boolean): void {
  const referenced = new Set<number>();
  const generated = new Set<number>();
  for (const n of nodes) {
    if (n.rule.kind !== 'correlation') continue;
    for (const ref of n.rule.correlation.rules) {
      referenced.add(byRef.get(ref)!);
      if (n.rule.correlation.generate) generated.add(byRef.get(ref)!);
    }
  }
  nodes.forEach((n, i) => {
    n.emit = enabled(n.rule.id) && (!referenced.has(i) || generated.has(i));
    n.live = n.emit || (n.rule.kind === 'correlation' && enabled(n.rule.id));
  });
  // A running correlation needs the rules it refers to, transitively (walk dependents before dependencies).
  for (let k = order.length - 1; k >= 0; k--) {
    const n = nodes[order[k]!]!;
    if (!n.live || n.rule.kind !== 'correlation') continue;
    for (const ref of n.rule.correlation.rules) nodes[byRef.get(ref)!]!.live = true;
  }
}

/** Resolves group-by (through aliases) and value_count fields for each referenced rule. */
function refReaders(c: CorrelationRule, nodes: Node[], byRef: Map<string, number>, slots: SlotTable, opts: CompileOptions): RefReader[] {
  const spec = c.correlation;
  return spec.rules.map((ref) => {
    const node = byRef.get(ref)!;
    const target = nodes[node]!.rule;
    const fieldFor = (name: string, path: string): string | null => {
      const alias = spec.aliases[name];
      if (!alias) return name;
      const f = alias[ref] ?? (target.name ? alias[target.name] : undefined) ?? alias[target.id];
      if (f === undefined) throw new RuleProblem(path, `alias "${name}" has no field for rule "${ref}"`);
      return f;
    };
    const map = resolveFor(opts.mapping, target.kind === 'detection' ? target.logsource : {});
    const toSlots = (f: string | null): number[] => (f === null ? [] : map.paths(f).map((p) => slots.slot(p)));
    return {
      node,
      groupSlots: spec.groupBy.map((g, i) => toSlots(fieldFor(g, `correlation.group-by[${i}]`))),
      valueSlots: spec.field ? toSlots(fieldFor(spec.field, spec.type === 'new_value' ? 'correlation.field' : 'correlation.condition.field')) : null,
      fromGroup: spec.groupBy.map((g) => (target.kind === 'correlation' ? target.correlation.groupBy.indexOf(g) : -1)),
    };
  });
}

/**
 * A group-by or counted value as text. An array (a path through OCSF's
 * `resources[]`, say) gives its scalar elements joined by commas: one
 * element is that element; several are one combined value.
 */
function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!Array.isArray(v)) return undefined;
  let out: string | undefined;
  for (const el of v) {
    const s = typeof el === 'string' ? el : typeof el === 'number' || typeof el === 'boolean' ? String(el) : undefined;
    if (s !== undefined) out = out === undefined ? s : `${out},${s}`;
  }
  return out;
}

class CompiledRuleSet implements RuleSet {
  readonly rules: ReadonlyArray<RuleInfo>;
  readonly #nodes: Node[];
  readonly #detections: Node[];
  readonly #correlations: Node[];
  readonly #ctx: EvalCtx;
  readonly #prefilter: Prefilter;
  #gen = 0;

  constructor(nodes: Node[], corrOrder: number[], slots: SlotTable, prefilter: boolean) {
    this.#nodes = nodes;
    this.rules = nodes.map((n) => n.info);
    this.#detections = nodes.filter((n) => n.live && n.pred !== null);
    this.#correlations = corrOrder.map((i) => nodes[i]!);
    this.#ctx = new EvalCtx(slots);
    this.#prefilter = new Prefilter(this.#detections.map((n) => (prefilter ? n.key : null)));
  }

  evaluate(event: Readonly<Record<string, unknown>>, meta: { index: number; time: number }): SigmaMatch[] {
    const c = this.#ctx;
    c.begin(event);
    const gen = ++this.#gen;
    let out = EMPTY;
    this.#prefilter.select(c, gen);
    const marks = this.#prefilter.marks;
    const dets = this.#detections;
    for (let i = 0; i < dets.length; i++) {
      const m = marks[i];
      if (m !== gen && m !== -2) continue;
      const n = dets[i]!;
      if (!n.pred!(c)) continue;
      n.fired.gen = gen;
      n.fired.indexes = [meta.index];
      if (n.emit) (out === EMPTY ? (out = []) : out).push(this.#match(n, meta.time, [meta.index], undefined));
    }
    for (const n of this.#correlations) {
      const fired = this.#feed(n, gen, meta.time);
      if (!fired) continue;
      n.fired.gen = gen;
      n.fired.indexes = fired.indexes;
      n.fired.groupVals = fired.groupVals;
      if (n.emit) (out === EMPTY ? (out = []) : out).push(this.#match(n, meta.time, fired.indexes, fired.groupVals));
    }
    return out;
  }

  /** Feeds this event's hits of the referenced rules (last position first) to one correlation. */
  #feed(n: Node, gen: number, time: number): { indexes: number[]; groupVals: string[] } | null {
    let result: { indexes: number[]; groupVals: string[] } | null = null;
    for (let p = n.refs.length - 1; p >= 0; p--) {
      const r = n.refs[p]!;
      const src = this.#nodes[r.node]!;
      if (src.fired.gen !== gen) continue;
      const groupVals = new Array<string>(r.groupSlots.length);
      for (let i = 0; i < groupVals.length; i++) {
        const k = r.fromGroup[i]!;
        groupVals[i] = k >= 0 ? (src.fired.groupVals[k] ?? '') : (this.#first(r.groupSlots[i]!) ?? '');
      }
      const groupKey = groupVals.length === 1 ? groupVals[0]! : groupVals.join('\u001f');
      const value = r.valueSlots ? this.#first(r.valueSlots) : undefined;
      const f = n.corr!.add({ refPos: p, time, indexes: src.fired.indexes, groupKey, groupVals, value });
      if (f) result = f;
    }
    return result;
  }

  #first(s: number[]): string | undefined {
    for (const slot of s) {
      const v = scalar(this.#ctx.get(slot));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  #match(n: Node, time: number, indexes: number[], groupVals: string[] | undefined): SigmaMatch {
    const m: SigmaMatch = { ruleId: n.info.id, title: n.info.title, level: n.info.level, kind: n.info.kind, indexes, time, tags: n.info.tags };
    if (groupVals && n.rule.kind === 'correlation') {
      const group: Record<string, string> = {};
      n.rule.correlation.groupBy.forEach((g, i) => (group[g] = groupVals[i] ?? ''));
      m.group = group;
    }
    return m;
  }

  snapshot(): unknown {
    const correlations: Record<string, unknown> = {};
    for (const n of this.#correlations) correlations[n.info.id] = { type: (n.rule as CorrelationRule).correlation.type, state: n.corr!.snapshot() };
    return { version: 1, correlations };
  }

  restore(state: unknown): void {
    const s = state as { version?: unknown; correlations?: Record<string, { type: string; state: unknown }> } | null;
    if (!s || typeof s !== 'object' || s.version !== 1 || typeof s.correlations !== 'object') throw stateInvalid('not a version 1 snapshot');
    for (const n of this.#correlations) {
      const saved = s.correlations[n.info.id];
      const spec = (n.rule as CorrelationRule).correlation;
      // A rule whose type changed starts afresh rather than misreading old state.
      n.corr!.restore(saved && saved.type === spec.type ? saved.state : []);
    }
  }
}
