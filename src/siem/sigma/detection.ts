/** Compiles a detection rule (search identifiers + condition) into one predicate. */
import type { SlotTable } from './access.js';
import { ofTargets } from './condition.js';
import { ModifierError, interpret } from './modifiers.js';
import { itemPredicate, type Pred } from './matchers.js';
import type { ResolvedMapping } from './pipeline.js';
import { RuleProblem } from './problem.js';
import type { ConditionNode, DetectionRule, FieldItem, SearchIdentifier } from './types.js';

const STRING_OPS = ['contains', 'startswith', 'endswith', 're', 'cidr', 'exists', 'fieldref'];

function and(ps: Pred[]): Pred {
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) { const [a, b] = ps as [Pred, Pred]; return (c) => a(c) && b(c); }
  return (c) => { for (const p of ps) if (!p(c)) return false; return true; };
}

function or(ps: Pred[]): Pred {
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) { const [a, b] = ps as [Pred, Pred]; return (c) => a(c) || b(c); }
  return (c) => { for (const p of ps) if (p(c)) return true; return false; };
}

export function compileItem(item: FieldItem, map: ResolvedMapping, slots: SlotTable, vars: Record<string, string[]>, path: string): Pred {
  let it = item;
  // A keyword is searched for anywhere inside the event's values, as full-text search does.
  if (it.field === null && !it.modifiers.some((m) => STRING_OPS.includes(m.toLowerCase()))) it = { ...it, modifiers: [...it.modifiers, 'contains'] };
  try {
    const spec = interpret(it, vars);
    const fieldSlots = it.field === null ? null : map.paths(it.field).map((p) => slots.slot(p));
    return itemPredicate(spec, fieldSlots, (f) => map.paths(f).map((p) => slots.slot(p)));
  } catch (e) {
    if (e instanceof ModifierError) throw new RuleProblem(path, e.message);
    throw e;
  }
}

function compileSearch(name: string, s: SearchIdentifier, map: ResolvedMapping, slots: SlotTable, vars: Record<string, string[]>): Pred {
  const path = `detection.${name}`;
  if (s.kind === 'keywords') return compileItem(s.item, map, slots, vars, path);
  return or(s.maps.map((m, i) => {
    const p = s.maps.length > 1 ? `${path}[${i}]` : path;
    return and(m.map((item) => compileItem(item, map, slots, vars, `${p}.${[item.field ?? '', ...item.modifiers].join('|')}`)));
  }));
}

export function compileCondition(node: ConditionNode, ids: Record<string, Pred>): Pred {
  switch (node.op) {
    case 'id': {
      const p = ids[node.name];
      if (!p) throw new RuleProblem('detection.condition', `unknown search identifier "${node.name}"`);
      return p;
    }
    case 'not': { const p = compileCondition(node.arg, ids); return (c) => !p(c); }
    case 'and': return and(node.args.map((a) => compileCondition(a, ids)));
    case 'or': return or(node.args.map((a) => compileCondition(a, ids)));
    case 'of': {
      const targets = ofTargets(node.pattern, Object.keys(ids)).map((n) => ids[n]!);
      if (targets.length === 0) throw new RuleProblem('detection.condition', `"of ${node.pattern}" matches no search identifier`);
      return node.quantifier === 'all' ? and(targets) : or(targets);
    }
  }
}

/** The rule's predicate, including the pipeline's add_condition items for its log source. */
export function compileDetection(rule: DetectionRule, map: ResolvedMapping, slots: SlotTable, vars: Record<string, string[]>): Pred {
  const ids: Record<string, Pred> = {};
  for (const [name, s] of Object.entries(rule.searches)) ids[name] = compileSearch(name, s, map, slots, vars);
  const cond = compileCondition(rule.condition, ids);
  if (map.extra.length === 0) return cond;
  const extra = map.extra.map((item) => compileItem(item, map, slots, vars, `pipeline add_condition ${item.field ?? ''}`));
  return and([...extra, cond]);
}
