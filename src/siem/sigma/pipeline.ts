/**
 * A subset of pySigma processing pipelines: `field_name_mapping` (Sigma
 * field → one or more dotted event paths; several paths are ORed) and
 * `add_condition` (extra field conditions ANDed into matching rules), each
 * optionally limited by `rule_conditions` of type `logsource`; plus `vars`
 * for `|expand` placeholders.
 */
import { parseDocument } from 'yaml';
import { pipelineInvalid } from './errors.js';
import { ModifierError, interpret } from './modifiers.js';
import { isObj } from './problem.js';
import type { FieldItem, FieldMapping, LogSource, PipelineStep, SigmaScalar } from './types.js';

const isScalar = (v: unknown): v is SigmaScalar => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function paths(v: unknown, where: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x))
    throw pipelineInvalid(where, 'must be a dotted path or a list of them');
  return list as string[];
}

function conditions(step: Record<string, unknown>, where: string): { when: LogSource[]; whenAll: boolean } {
  const op = step.rule_cond_op ?? 'and';
  if (op !== 'and' && op !== 'or') throw pipelineInvalid(`${where}.rule_cond_op`, 'must be and or or');
  const raw = step.rule_conditions ?? [];
  if (!Array.isArray(raw)) throw pipelineInvalid(`${where}.rule_conditions`, 'must be a list');
  const when = raw.map((c, i) => {
    const w = `${where}.rule_conditions[${i}]`;
    if (!isObj(c) || c.type !== 'logsource') throw pipelineInvalid(w, 'only conditions of type logsource are supported');
    const ls: LogSource = {};
    for (const k of ['category', 'product', 'service'] as const) {
      if (c[k] === undefined) continue;
      if (typeof c[k] !== 'string') throw pipelineInvalid(`${w}.${k}`, 'must be a string');
      ls[k] = c[k];
    }
    return ls;
  });
  return { when, whenAll: op === 'and' };
}

function step(raw: unknown, where: string): PipelineStep {
  if (!isObj(raw)) throw pipelineInvalid(where, 'a transformation must be a mapping');
  const id = typeof raw.id === 'string' ? { id: raw.id } : {};
  if (raw.type === 'field_name_mapping') {
    if (!isObj(raw.mapping)) throw pipelineInvalid(`${where}.mapping`, 'must map Sigma field names to event paths');
    const mapping: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(raw.mapping)) mapping[k] = paths(v, `${where}.mapping.${k}`);
    return { type: 'field_name_mapping', ...id, mapping, ...conditions(raw, where) };
  }
  if (raw.type === 'add_condition') {
    if (!isObj(raw.conditions)) throw pipelineInvalid(`${where}.conditions`, 'must map fields to values');
    for (const [k, v] of Object.entries(raw.conditions)) {
      const values = Array.isArray(v) ? v : [v];
      if (!values.every(isScalar)) throw pipelineInvalid(`${where}.conditions.${k}`, 'must be a value or a list of values');
      try {
        interpret(toItem(k, values), null);
      } catch (e) {
        if (e instanceof ModifierError) throw pipelineInvalid(`${where}.conditions.${k}`, e.message);
        throw e;
      }
    }
    return { type: 'add_condition', ...id, conditions: raw.conditions as Record<string, SigmaScalar | SigmaScalar[]>, ...conditions(raw, where) };
  }
  throw pipelineInvalid(`${where}.type`, `unsupported transformation ${JSON.stringify(raw.type)} (supported: field_name_mapping, add_condition)`);
}

export function toItem(key: string, values: SigmaScalar[]): FieldItem {
  const [field, ...modifiers] = key.split('|');
  return { field: field || null, modifiers: modifiers.filter(Boolean), values };
}

/** Parses a pipeline YAML document. */
export function parsePipeline(yamlText: string): FieldMapping {
  const doc = parseDocument(yamlText, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) throw pipelineInvalid('', `YAML: ${doc.errors[0]!.message}`);
  const d: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isObj(d)) throw pipelineInvalid('', 'a pipeline must be a YAML mapping');
  const raw = d.transformations ?? [];
  if (!Array.isArray(raw)) throw pipelineInvalid('transformations', 'must be a list');
  const vars: Record<string, string[]> = {};
  if (d.vars !== undefined) {
    if (!isObj(d.vars)) throw pipelineInvalid('vars', 'must map placeholder names to values');
    for (const [k, v] of Object.entries(d.vars)) {
      const list = Array.isArray(v) ? v : [v];
      if (!list.every((x) => typeof x === 'string' || typeof x === 'number')) throw pipelineInvalid(`vars.${k}`, 'must be a value or a list of values');
      vars[k] = list.map(String);
    }
  }
  const mapping: FieldMapping = { steps: raw.map((s, i) => step(s, `transformations[${i}]`)), vars };
  if (typeof d.name === 'string') mapping.name = d.name;
  return mapping;
}

function logsourceMatches(cond: LogSource, rule: LogSource): boolean {
  for (const k of ['category', 'product', 'service'] as const) {
    const want = cond[k];
    if (want !== undefined && want.toLowerCase() !== (rule[k] ?? '').toLowerCase()) return false;
  }
  return true;
}

function applies(s: PipelineStep, ls: LogSource): boolean {
  if (s.when.length === 0) return true;
  return s.whenAll ? s.when.every((c) => logsourceMatches(c, ls)) : s.when.some((c) => logsourceMatches(c, ls));
}

/** What the pipeline means for rules of one log source: field → paths, and extra conditions. */
export interface ResolvedMapping {
  paths(field: string): string[];
  extra: FieldItem[];
}

export function resolveFor(mapping: FieldMapping | undefined, ls: LogSource): ResolvedMapping {
  const steps = (mapping?.steps ?? []).filter((s) => applies(s, ls));
  const extra: FieldItem[] = [];
  for (const s of steps) {
    if (s.type !== 'add_condition') continue;
    for (const [k, v] of Object.entries(s.conditions)) extra.push(toItem(k, Array.isArray(v) ? v : [v]));
  }
  return {
    paths(field: string): string[] {
      for (const s of steps) if (s.type === 'field_name_mapping' && s.mapping[field]) return s.mapping[field]!;
      return [field];
    },
    extra,
  };
}
