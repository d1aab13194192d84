/**
 * Rule selection before evaluation. Most rules require one field to equal
 * one of a few plain values (`action: auth.login`, `class_uid: 3002`). Such a
 * rule is filed under that field and those values; per event each filed field
 * is read once and only the rules filed under its value are evaluated, plus
 * the rules without such a key. The key is only a necessary condition: a
 * selected rule still runs its whole predicate, so results never change.
 */
import type { EvalCtx, SlotTable } from './access.js';
import { ModifierError, interpret } from './modifiers.js';
import type { ResolvedMapping } from './pipeline.js';
import type { ConditionNode, DetectionRule, FieldItem, SearchIdentifier } from './types.js';
import { ofTargets } from './condition.js';

/** Identifiers that must match for the condition to hold. */
function required(c: ConditionNode, names: string[]): string[] {
  switch (c.op) {
    case 'id': return [c.name];
    case 'and': return c.args.flatMap((a) => required(a, names));
    case 'of': return c.quantifier === 'all' ? ofTargets(c.pattern, names) : [];
    default: return [];
  }
}

/** Plain case-insensitive equality values of an item, or null when it is anything else. */
function plainValues(item: FieldItem, vars: Record<string, string[]>): string[] | null {
  if (item.field === null) return null;
  try {
    const spec = interpret(item, vars);
    if (spec.op !== 'string' || spec.all || spec.neq || spec.cased) return null;
    if (!spec.patterns.every((p) => p.length === 0 || (p.length === 1 && typeof p[0] === 'string'))) return null;
    return spec.patterns.map((p) => ((p[0] as string | undefined) ?? '').toLowerCase());
  } catch (e) {
    if (e instanceof ModifierError) return null;
    throw e;
  }
}

export interface Key {
  slots: number[];
  values: string[];
}

/** The most selective required plain-equality item of a rule (fewest values), or null. */
export function ruleKey(rule: DetectionRule, map: ResolvedMapping, slots: SlotTable, vars: Record<string, string[]>): Key | null {
  const names = Object.keys(rule.searches);
  const items: FieldItem[] = [...map.extra];
  for (const name of required(rule.condition, names)) {
    const s: SearchIdentifier | undefined = rule.searches[name];
    if (s?.kind === 'maps' && s.maps.length === 1) items.push(...s.maps[0]!);
  }
  let best: Key | null = null;
  for (const item of items) {
    const values = plainValues(item, vars);
    if (values && (!best || values.length < best.values.length)) best = { slots: map.paths(item.field!).map((p) => slots.slot(p)), values };
  }
  return best;
}

interface Filed {
  slots: number[];
  byValue: Map<string, number[]>;
}

export class Prefilter {
  readonly #filed: Filed[] = [];
  /** Per detection (by position): selected in generation `marks[i]`, or always (-2). */
  readonly marks: Int32Array;

  constructor(keys: Array<Key | null>) {
    this.marks = new Int32Array(keys.length).fill(-1);
    const bySlots = new Map<string, Filed>();
    keys.forEach((k, i) => {
      if (k === null) {
        this.marks[i] = -2;
        return;
      }
      const sig = k.slots.join(',');
      let f = bySlots.get(sig);
      if (!f) bySlots.set(sig, (f = { slots: k.slots, byValue: new Map() }));
      for (const v of new Set(k.values)) {
        const list = f.byValue.get(v);
        if (list) list.push(i);
        else f.byValue.set(v, [i]);
      }
    });
    this.#filed = [...bySlots.values()];
  }

  /** Marks the detections this event may match with `gen`. */
  select(c: EvalCtx, gen: number): void {
    for (const f of this.#filed) {
      for (const slot of f.slots) {
        const v = c.get(slot);
        if (typeof v === 'string') this.#mark(f, c.lower(slot), gen);
        else if (typeof v === 'number' || typeof v === 'boolean') this.#mark(f, String(v), gen);
        else if (Array.isArray(v)) {
          for (const el of v) if (typeof el === 'string' || typeof el === 'number' || typeof el === 'boolean') this.#mark(f, String(el).toLowerCase(), gen);
        }
      }
    }
  }

  #mark(f: Filed, value: string, gen: number): void {
    const list = f.byValue.get(value);
    if (list) for (const i of list) this.marks[i] = gen;
  }
}
