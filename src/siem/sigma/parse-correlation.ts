/** The `correlation:` section of a correlation rule (and the rate_deviation extension). */
import { RuleProblem, isObj, type Obj } from './problem.js';
import type { CorrelationSpec, CorrelationType, CountCondition } from './types.js';

const TYPES: readonly CorrelationType[] = ['event_count', 'value_count', 'temporal', 'temporal_ordered', 'rate_deviation', 'new_value'];
const KEYS = new Set(['type', 'rules', 'group-by', 'timespan', 'condition', 'aliases', 'generate', 'k', 'alpha', 'warmup', 'field', 'mask']);
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const P = 'correlation';

function stringList(v: unknown, path: string, required: boolean): string[] {
  if (v === undefined && !required) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || !x) || (required && list.length === 0))
    throw new RuleProblem(path, 'must be a name or a list of names');
  return list as string[];
}

export function parseTimespan(v: unknown, path: string): number {
  const m = typeof v === 'string' ? /^(\d+)([smhd])$/.exec(v.trim()) : null;
  if (!m || Number(m[1]) === 0) throw new RuleProblem(path, 'timespan must be a positive number followed by s, m, h or d (e.g. 90m)');
  return Number(m[1]) * UNITS[m[2]!]!;
}

function parseCountCondition(v: unknown, path: string): { condition: CountCondition; field?: string } {
  if (!isObj(v)) throw new RuleProblem(path, 'condition must be a mapping such as {gte: 10}');
  const condition: CountCondition = {};
  let field: string | undefined;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'field') {
      if (typeof x !== 'string' || !x) throw new RuleProblem(`${path}.field`, 'must be a field name');
      field = x;
    } else if (k === 'gt' || k === 'gte' || k === 'lt' || k === 'lte' || k === 'eq') {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new RuleProblem(`${path}.${k}`, 'must be a number');
      condition[k] = x;
    } else throw new RuleProblem(`${path}.${k}`, 'unknown condition key (use gt, gte, lt, lte, eq, field)');
  }
  if (Object.keys(condition).length === 0) throw new RuleProblem(path, 'condition needs gt, gte, lt, lte or eq');
  return field === undefined ? { condition } : { condition, field };
}

function parseAliases(v: unknown): Record<string, Record<string, string>> {
  if (v === undefined) return {};
  if (!isObj(v)) throw new RuleProblem(`${P}.aliases`, 'must be a mapping alias → (rule → field)');
  const out: Record<string, Record<string, string>> = {};
  for (const [alias, perRule] of Object.entries(v)) {
    if (!isObj(perRule) || !Object.values(perRule).every((f) => typeof f === 'string'))
      throw new RuleProblem(`${P}.aliases.${alias}`, 'must map rule names to field names');
    out[alias] = perRule as Record<string, string>;
  }
  return out;
}

function num(c: Obj, key: string, dflt: number, ok: (n: number) => boolean, what: string): number {
  const v = c[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !ok(v)) throw new RuleProblem(`${P}.${key}`, what);
  return v;
}

export function parseCorrelation(c: unknown, topGenerate: unknown): CorrelationSpec {
  if (!isObj(c)) throw new RuleProblem(P, 'correlation must be a mapping');
  const type = c.type as CorrelationType;
  if (!TYPES.includes(type)) throw new RuleProblem(`${P}.type`, `type must be one of ${TYPES.join(', ')}`);
  for (const k of Object.keys(c)) if (!KEYS.has(k)) throw new RuleProblem(`${P}.${k}`, 'unknown correlation key');
  const rules = stringList(c.rules, `${P}.rules`, true);
  const groupBy = stringList(c['group-by'], `${P}.group-by`, false);
  const timespanMs = parseTimespan(c.timespan, `${P}.timespan`);
  const gen = c.generate ?? topGenerate ?? false;
  if (typeof gen !== 'boolean') throw new RuleProblem('generate', 'generate must be true or false');
  let condition: CountCondition | null = null;
  let field: string | undefined;
  if (c.condition !== undefined) ({ condition, field } = parseCountCondition(c.condition, `${P}.condition`));
  else if (type === 'event_count' || type === 'value_count' || type === 'rate_deviation')
    throw new RuleProblem(`${P}.condition`, `${type} needs a condition`);
  if (type === 'value_count' && !field) throw new RuleProblem(`${P}.condition.field`, 'value_count needs the field whose values are counted');
  if (type !== 'value_count' && field) throw new RuleProblem(`${P}.condition.field`, 'only value_count takes a field');
  if (type === 'new_value' && condition) throw new RuleProblem(`${P}.condition`, 'new_value takes no condition (it fires on every value new to its group)');
  if (type.startsWith('temporal') && rules.length < 2) throw new RuleProblem(`${P}.rules`, `${type} needs at least two rules`);
  const spec: CorrelationSpec = { type, rules, groupBy, timespanMs, condition, aliases: parseAliases(c.aliases), generate: gen };
  if (field) spec.field = field;
  if (type === 'rate_deviation') {
    spec.deviation = {
      k: num(c, 'k', 3, (n) => n > 0, 'k must be a positive number of standard deviations'),
      alpha: num(c, 'alpha', 0.1, (n) => n > 0 && n <= 1, 'alpha must be in (0, 1]'),
      warmup: num(c, 'warmup', 5, (n) => Number.isInteger(n) && n >= 1, 'warmup must be a whole number of buckets ≥ 1'),
    };
  } else if (type === 'new_value') {
    if (typeof c.field !== 'string' || !c.field) throw new RuleProblem(`${P}.field`, 'new_value needs the field whose new values it reports');
    spec.field = c.field;
    spec.newValue = { warmupMs: c.warmup === undefined ? 0 : parseTimespan(c.warmup, `${P}.warmup`), mask: parseMask(c.mask) };
  }
  for (const k of ['k', 'alpha']) if (c[k] !== undefined && type !== 'rate_deviation') throw new RuleProblem(`${P}.${k}`, 'only rate_deviation takes this key');
  if (c.warmup !== undefined && type !== 'rate_deviation' && type !== 'new_value') throw new RuleProblem(`${P}.warmup`, 'only rate_deviation and new_value take a warmup');
  for (const k of ['field', 'mask']) if (c[k] !== undefined && type !== 'new_value') throw new RuleProblem(`${P}.${k}`, `only new_value takes ${k} here${k === 'field' ? ' (value_count: condition.field)' : ''}`);
  return spec;
}

function parseMask(v: unknown): { ipv4: number; ipv6: number } {
  if (v === undefined) return { ipv4: 32, ipv6: 128 };
  if (!isObj(v)) throw new RuleProblem(`${P}.mask`, 'mask must be a mapping such as { ipv4: 24, ipv6: 48 }');
  const bits = (k: 'ipv4' | 'ipv6', max: number): number => {
    const x = v[k] ?? max;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) throw new RuleProblem(`${P}.mask.${k}`, `must be a prefix length from 0 to ${max}`);
    return x;
  };
  for (const k of Object.keys(v)) if (k !== 'ipv4' && k !== 'ipv6') throw new RuleProblem(`${P}.mask.${k}`, 'mask takes ipv4 and ipv6 prefix lengths');
  return { ipv4: bits('ipv4', 32), ipv6: bits('ipv6', 128) };
}
