/**
 * Sigma filters (filters specification 2.x): environment tuning kept apart
 * from the rules. A filter names rules (by id or name, or `any` for every
 * rule of its log source) and adds `and (<filter condition>)` to each, with
 * the filter's identifiers renamed so they cannot clash with the rule's (and,
 * starting with `_`, never join the rule's `1 of them`). Filters never apply
 * to correlation rules; references to rules that are not loaded are ignored,
 * as pySigma does (a pack update that drops a rule must not stop the SIEM).
 */
import { parseAllDocuments } from 'yaml';
import { ofTargets } from './condition.js';
import { ruleInvalid } from './errors.js';
import { label, parseDetection, parseLogsource } from './parse.js';
import { RuleProblem, isObj } from './problem.js';
import type { ConditionNode, LogSource, SearchIdentifier, SigmaRule } from './types.js';

export interface SigmaFilter {
  id: string;
  title: string;
  logsource: LogSource;
  /** Rule ids or names, or 'any' for every detection rule of the log source. */
  rules: string[] | 'any';
  searches: Record<string, SearchIdentifier>;
  condition: ConditionNode;
  source?: string;
}

/** Parses filter documents; anything else (or a bad filter) is SIEM_RULE_INVALID. */
export function parseFilters(yamlText: string, source?: string): SigmaFilter[] {
  const docs = parseAllDocuments(yamlText, { prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: SigmaFilter[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw ruleInvalid({ source }, '', `YAML: ${doc.errors[0]!.message}`);
    const d: unknown = doc.toJS({ maxAliasCount: 100 });
    if (d === null || d === undefined) continue;
    if (!isObj(d)) throw ruleInvalid({ source }, '', 'a filter must be a YAML mapping');
    try {
      out.push(parseFilter(d, source));
    } catch (e) {
      if (e instanceof RuleProblem) throw ruleInvalid({ source, rule: label(d) }, e.path, e.message);
      throw e;
    }
  }
  return out;
}

function parseFilter(d: Record<string, unknown>, source: string | undefined): SigmaFilter {
  if (typeof d.title !== 'string' || !d.title.trim()) throw new RuleProblem('title', 'a filter needs a title');
  if (!isObj(d.filter)) throw new RuleProblem('filter', 'a filter needs a filter mapping (rules, selections, condition)');
  if (d.logsource === undefined) throw new RuleProblem('logsource', 'a filter needs a logsource');
  const raw = d.filter.rules;
  let rules: string[] | 'any';
  if (typeof raw === 'string' && ['any', 'all'].includes(raw.toLowerCase())) rules = 'any';
  else if (typeof raw === 'string' && raw) rules = [raw];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((r) => typeof r === 'string' && r)) rules = raw as string[];
  else throw new RuleProblem('filter.rules', 'rules must be rule ids or names, or any');
  const id = typeof d.id === 'string' && d.id ? d.id : d.title;
  const f: SigmaFilter = { id, title: d.title, logsource: parseLogsource(d.logsource), rules, ...parseDetection(d.filter, 'filter', ['condition', 'rules']) };
  if (source !== undefined) f.source = source;
  return f;
}

/** True when every log source field the filter names equals the rule's. */
function logsourceCovers(filter: LogSource, rule: LogSource): boolean {
  return (['category', 'product', 'service'] as const).every((k) => filter[k] === undefined || filter[k]!.toLowerCase() === (rule[k] ?? '').toLowerCase());
}

function rename(c: ConditionNode, names: string[], prefix: string): ConditionNode {
  switch (c.op) {
    case 'id': return { op: 'id', name: prefix + c.name };
    case 'not': return { op: 'not', arg: rename(c.arg, names, prefix) };
    case 'and': case 'or': return { op: c.op, args: c.args.map((a) => rename(a, names, prefix)) };
    case 'of': {
      const args: ConditionNode[] = ofTargets(c.pattern, names).map((n) => ({ op: 'id', name: prefix + n }));
      return { op: c.quantifier === 'all' ? 'and' : 'or', args };
    }
  }
}

/** The rules with the filters applied (new objects; the inputs are not changed). */
export function applyFilters(rules: SigmaRule[], filters: readonly SigmaFilter[]): SigmaRule[] {
  if (filters.length === 0) return rules;
  return rules.map((rule) => {
    if (rule.kind !== 'detection') return rule;
    let out = rule;
    filters.forEach((f, k) => {
      const named = f.rules === 'any' || f.rules.includes(rule.id) || (rule.name !== undefined && f.rules.includes(rule.name));
      if (!named || !logsourceCovers(f.logsource, rule.logsource)) return;
      const prefix = `_filter${k}_`;
      const names = Object.keys(f.searches);
      const searches = { ...out.searches };
      for (const n of names) searches[prefix + n] = f.searches[n]!;
      out = { ...out, searches, condition: { op: 'and', args: [out.condition, rename(f.condition, names, prefix)] } };
    });
    return out;
  });
}
