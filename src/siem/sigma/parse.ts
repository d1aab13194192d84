/**
 * YAML → SigmaRule. Every problem becomes SIEM_RULE_INVALID naming the
 * source, the rule (id, name or title) and the YAML path, so a rule author
 * can fix it without reading the engine.
 */
import { parseAllDocuments } from 'yaml';
import { ConditionError, parseCondition } from './condition.js';
import { ruleInvalid, type RuleLocation } from './errors.js';
import { parseCorrelation } from './parse-correlation.js';
import { ModifierError, interpret } from './modifiers.js';
import { RuleProblem, isObj, type Obj } from './problem.js';
import {
  LEVELS, type ConditionNode, type DetectionRule, type FieldItem, type LogSource, type SearchIdentifier,
  type SigmaLevel, type SigmaRule, type SigmaScalar,
} from './types.js';

const isScalar = (v: unknown): v is SigmaScalar => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** Parses a multi-document YAML text into rules (empty documents are skipped). */
export function parseRules(yamlText: string, source?: string): SigmaRule[] {
  const docs = parseAllDocuments(yamlText, { prettyErrors: false, uniqueKeys: true });
  const out: SigmaRule[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, n) => {
    const docLabel = list.length > 1 ? `document ${n + 1}` : undefined;
    if (doc.errors.length > 0) throw ruleInvalid({ source, rule: docLabel }, '', `YAML: ${doc.errors[0]!.message}`);
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    if (data === null || data === undefined) return;
    if (!isObj(data)) throw ruleInvalid({ source, rule: docLabel }, '', 'a rule must be a YAML mapping');
    const loc: RuleLocation = { source, rule: label(data) ?? docLabel };
    try {
      out.push(parseRule(data, source));
    } catch (e) {
      if (e instanceof RuleProblem) throw ruleInvalid(loc, e.path, e.message);
      throw e;
    }
  });
  return out;
}

export function label(d: Obj): string | undefined {
  for (const k of ['id', 'name', 'title']) if (typeof d[k] === 'string' && d[k]) return d[k];
  return undefined;
}

function parseRule(d: Obj, source: string | undefined): SigmaRule {
  if (d.filter !== undefined) throw new RuleProblem('filter', 'a Sigma filter document: load it with parseFilters');
  const title = d.title;
  if (typeof title !== 'string' || !title.trim()) throw new RuleProblem('title', 'a rule needs a title');
  for (const k of ['id', 'name']) if (d[k] !== undefined && (typeof d[k] !== 'string' || !d[k])) throw new RuleProblem(k, `${k} must be a non-empty string`);
  const id = (d.id ?? d.name) as string | undefined;
  if (!id) throw new RuleProblem('id', 'a rule needs an id or a name (alerts and correlations refer to it)');
  const level = d.level ?? 'medium';
  if (!LEVELS.includes(level as SigmaLevel)) throw new RuleProblem('level', `level must be one of ${LEVELS.join(', ')}`);
  const tags = d.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw new RuleProblem('tags', 'tags must be a list of strings');
  const common = {
    id, title, level: level as SigmaLevel, tags: tags as string[],
    ...(typeof d.name === 'string' ? { name: d.name } : {}),
    ...(typeof d.status === 'string' ? { status: d.status } : {}),
    ...(typeof d.description === 'string' ? { description: d.description } : {}),
    ...(source !== undefined ? { source } : {}),
  };
  if (d.correlation !== undefined) {
    if (d.detection !== undefined) throw new RuleProblem('correlation', 'a rule has either detection or correlation, not both');
    return { ...common, kind: 'correlation', correlation: parseCorrelation(d.correlation, d.generate) };
  }
  if (!isObj(d.detection)) throw new RuleProblem('detection', 'a rule needs a detection mapping (or a correlation)');
  return { ...common, kind: 'detection', logsource: parseLogsource(d.logsource), ...parseDetection(d.detection) };
}

export function parseLogsource(v: unknown): LogSource {
  if (v === undefined) return {};
  if (!isObj(v)) throw new RuleProblem('logsource', 'logsource must be a mapping');
  const out: LogSource = {};
  for (const k of ['category', 'product', 'service'] as const) {
    const x = v[k];
    if (x === undefined) continue;
    if (typeof x !== 'string') throw new RuleProblem(`logsource.${k}`, 'must be a string');
    out[k] = x;
  }
  return out;
}

/** Search identifiers and condition of a `detection` (or a filter's `filter`) mapping; `skip` keys are not identifiers. */
export function parseDetection(det: Obj, at = 'detection', skip: readonly string[] = ['condition', 'timeframe']): Pick<DetectionRule, 'searches' | 'condition'> {
  const searches: Record<string, SearchIdentifier> = {};
  for (const [name, body] of Object.entries(det)) {
    if (skip.includes(name)) continue;
    searches[name] = parseSearch(body, `${at}.${name}`);
  }
  const names = Object.keys(searches);
  if (names.length === 0) throw new RuleProblem(at, 'no search identifiers');
  const raw = det.condition;
  const conds = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : null;
  if (!conds || conds.length === 0 || !conds.every((c) => typeof c === 'string'))
    throw new RuleProblem(`${at}.condition`, 'condition must be a string or a list of strings');
  const nodes: ConditionNode[] = conds.map((c, i) => {
    try {
      return parseCondition(c as string, names);
    } catch (e) {
      if (e instanceof ConditionError) throw new RuleProblem(conds.length > 1 ? `${at}.condition[${i}]` : `${at}.condition`, e.message);
      throw e;
    }
  });
  return { searches, condition: nodes.length === 1 ? nodes[0]! : { op: 'or', args: nodes } };
}

function parseSearch(body: unknown, path: string): SearchIdentifier {
  if (isObj(body)) return { kind: 'maps', maps: [parseMap(body, path)] };
  if (Array.isArray(body) && body.length > 0) {
    if (body.every(isObj)) return { kind: 'maps', maps: body.map((m, i) => parseMap(m as Obj, `${path}[${i}]`)) };
    if (body.every((v) => isScalar(v) && v !== null)) return { kind: 'keywords', item: checked({ field: null, modifiers: [], values: body as SigmaScalar[] }, path) };
    throw new RuleProblem(path, 'a list must hold only maps or only keyword strings');
  }
  if (typeof body === 'string' || typeof body === 'number') return { kind: 'keywords', item: checked({ field: null, modifiers: [], values: [body] }, path) };
  throw new RuleProblem(path, 'a search identifier must be a map, a list of maps or a list of keywords');
}

function parseMap(m: Obj, path: string): FieldItem[] {
  const items: FieldItem[] = [];
  for (const [key, raw] of Object.entries(m)) {
    const [field, ...modifiers] = key.split('|');
    let values: SigmaScalar[];
    if (isScalar(raw)) values = [raw];
    else if (Array.isArray(raw) && raw.every(isScalar)) values = raw as SigmaScalar[];
    else throw new RuleProblem(`${path}.${key}`, 'a field takes a value or a list of values');
    if (values.length === 0) throw new RuleProblem(`${path}.${key}`, 'empty value list');
    items.push(checked({ field: field ? field : null, modifiers: modifiers.filter((x) => x !== ''), values }, `${path}.${key}`));
  }
  if (items.length === 0) throw new RuleProblem(path, 'empty map');
  return items;
}

function checked(item: FieldItem, path: string): FieldItem {
  try {
    interpret(item, null);
  } catch (e) {
    if (e instanceof ModifierError) throw new RuleProblem(path, e.message);
    throw e;
  }
  return item;
}
