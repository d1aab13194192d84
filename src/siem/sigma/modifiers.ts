/**
 * Field modifiers: turns `Field|mod|mod: values` into a ValueSpec, or a
 * reason it is invalid. Parsing (to report errors at load time) and
 * compilation (to build matchers) share this one function.
 */
import type { FieldItem, SigmaScalar } from './types.js';
import { parseCidr } from './ip.js';
import { buildRegExp, regexProblem } from './regex.js';
import {
  STAR, base64, base64Offsets, encodeText, hasWildcards, literal, parseSigmaString, plainText, windash,
  type Token, type Utf16,
} from './strings.js';

export type NumCmp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq';
export type TimePart = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';
type StrOp = 'eq' | 'contains' | 'startswith' | 'endswith';

interface Flags {
  all: boolean;
  neq: boolean;
}
export type ValueSpec =
  | { op: 'exists'; want: boolean }
  | { op: 'null' }
  | ({ op: 'string'; patterns: Token[][]; cased: boolean } & Flags)
  | ({ op: 'fieldref'; refs: string[]; match: StrOp; cased: boolean } & Flags)
  | ({ op: 're'; regexes: RegExp[] } & Flags)
  | ({ op: 'cidr'; cidrs: string[] } & Flags)
  | ({ op: 'num'; cmp: NumCmp; values: number[]; timePart: TimePart | null } & Flags);

const STR_OPS = new Set(['contains', 'startswith', 'endswith']);
const NUM_OPS = new Set(['gt', 'gte', 'lt', 'lte']);
const TIME_PARTS = new Set(['minute', 'hour', 'day', 'week', 'month', 'year']);
const UTF16: Record<string, Utf16> = { utf16le: 'utf16le', wide: 'utf16le', utf16be: 'utf16be', utf16: 'utf16' };
const TRANSFORMS = new Set(['windash', 'base64', 'base64offset', 'expand', ...Object.keys(UTF16)]);
const FLAGS = new Set(['all', 'cased', 'neq', 'i', 'm', 's', 'ignorecase', 'multiline', 'dotall']);
const OPERATORS = new Set([...STR_OPS, ...NUM_OPS, 're', 'cidr', 'exists', 'fieldref', ...TIME_PARTS]);

export class ModifierError extends Error {}
const fail = (msg: string): never => {
  throw new ModifierError(msg);
};

interface Parsed {
  op: string | null;
  strOp: StrOp;
  timePart: TimePart | null;
  transforms: string[];
  flags: Set<string>;
}

function classify(mods: string[]): Parsed {
  const p: Parsed = { op: null, strOp: 'eq', timePart: null, transforms: [], flags: new Set() };
  for (const raw of mods) {
    const m = raw.toLowerCase();
    if (TRANSFORMS.has(m)) p.transforms.push(m);
    else if (FLAGS.has(m)) p.flags.add(m === 'ignorecase' ? 'i' : m === 'multiline' ? 'm' : m === 'dotall' ? 's' : m);
    else if (TIME_PARTS.has(m)) {
      if (p.timePart) fail(`two time modifiers (${p.timePart}, ${m})`);
      p.timePart = m as TimePart;
    } else if (STR_OPS.has(m)) {
      if (p.strOp !== 'eq') fail(`modifiers ${p.strOp} and ${m} cannot be combined`);
      p.strOp = m as StrOp;
    } else if (OPERATORS.has(m)) {
      if (p.op !== null) fail(`modifiers ${p.op} and ${m} cannot be combined`);
      p.op = m;
    } else fail(`unknown modifier "${raw}"`);
  }
  if (p.strOp !== 'eq') {
    if (p.op === null) p.op = p.strOp;
    else if (p.op !== 'fieldref') fail(`modifiers ${p.strOp} and ${p.op} cannot be combined`);
  }
  return p;
}

/** Applies placeholders (`%name%`) from vars; `\%` is a literal percent sign. */
function expand(value: string, vars: Record<string, string[]> | null): string[] {
  if (vars === null) return [value]; // parse time: placeholders are checked when compiled with a mapping
  let outs = [''];
  const re = /\\%|%([A-Za-z0-9_.-]+)%|[^%\\]+|[%\\]/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    if (m[1] === undefined) {
      const text = m[0] === '\\%' ? '%' : m[0];
      outs = outs.map((o) => o + text);
      continue;
    }
    const vals = vars[m[1]];
    if (!vals) fail(`placeholder %${m[1]}% has no values in the pipeline's vars`);
    outs = outs.flatMap((o) => vals!.map((v) => o + v));
    if (outs.length > 10_000) fail('placeholder expansion yields more than 10000 values');
  }
  return outs;
}

type Val = { tokens: Token[]; bytes: Buffer | null; cased: boolean };

function transformValues(values: string[], p: Parsed, vars: Record<string, string[]> | null): Val[] {
  let vals: Val[] = values.map((v) => ({ tokens: parseSigmaString(v), bytes: null, cased: false }));
  if (p.transforms.includes('expand')) vals = values.flatMap((v) => expand(v, vars)).map((v) => ({ tokens: parseSigmaString(v), bytes: null, cased: false }));
  for (let i = 0; i < p.transforms.length; i++) {
    const t = p.transforms[i]!;
    if (t === 'expand') continue;
    if (t === 'windash') vals = vals.map((v) => ({ ...v, tokens: windash(v.tokens) }));
    else if (UTF16[t]) {
      const next = p.transforms[i + 1];
      if (next !== 'base64' && next !== 'base64offset') fail(`${t} must be followed by base64 or base64offset`);
      vals = vals.map((v) => ({ tokens: [], bytes: encodeText(textOf(v, t), UTF16[t]!), cased: true }));
    } else {
      // base64 output is matched case-sensitively: its letters' case carries the encoded bits.
      vals = vals.flatMap((v) => {
        const bytes = v.bytes ?? encodeText(textOf(v, t), null);
        const outs = t === 'base64' ? [base64(bytes)] : base64Offsets(bytes);
        return outs.map((o) => ({ tokens: literal(o), bytes: null, cased: true }));
      });
    }
  }
  return vals;
}

function textOf(v: Val, mod: string): string {
  if (v.bytes) fail(`${mod} cannot follow another encoding`);
  if (hasWildcards(v.tokens)) fail(`${mod} cannot encode a value with wildcards`);
  return plainText(v.tokens);
}

function wrap(tokens: Token[], op: StrOp): Token[] {
  const t = [...tokens];
  if ((op === 'contains' || op === 'endswith') && t[0] !== STAR) t.unshift(STAR);
  if ((op === 'contains' || op === 'startswith') && t[t.length - 1] !== STAR) t.push(STAR);
  return t;
}

function strings(values: SigmaScalar[], what: string): string[] {
  return values.map((v) => {
    if (v === null || typeof v === 'object') return fail(`${what} needs string values`);
    return String(v);
  });
}

function numbers(values: SigmaScalar[], what: string): number[] {
  return values.map((v) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) fail(`${what} needs numeric values, got ${JSON.stringify(v)}`);
    return n;
  });
}

/**
 * Validates and interprets one field item. `vars` null means "parse time":
 * placeholders are left for compile time. Throws ModifierError with the reason.
 */
export function interpret(item: FieldItem, vars: Record<string, string[]> | null): ValueSpec {
  const p = classify(item.modifiers);
  const { values } = item;
  if (values.length === 0) fail('empty value list');
  const flags = { all: p.flags.has('all'), neq: p.flags.has('neq') };
  if (flags.all && values.length < 2) fail('the all modifier needs a list of at least two values');
  if (values.includes(null)) {
    if (values.length > 1) fail('null cannot be part of a value list (use its own selection)');
    if (item.modifiers.length > 0) fail('null takes no modifiers');
    return { op: 'null' };
  }
  for (const f of ['i', 'm', 's']) if (p.flags.has(f) && p.op !== 're') fail(`the ${f} modifier applies only to re`);
  if (p.op !== null && p.op !== 'fieldref' && !STR_OPS.has(p.op) && p.transforms.length > 0)
    fail(`${p.transforms[0]} cannot be combined with ${p.op}`);
  if (p.timePart) return timeSpec(p, values, flags);
  switch (p.op) {
    case 'exists':
      if (values.length !== 1 || typeof values[0] !== 'boolean') fail('exists takes true or false');
      return { op: 'exists', want: values[0] as boolean };
    case 're':
      return { op: 're', ...flags, regexes: strings(values, 're').map((src) => regex(src, p)) };
    case 'cidr':
      for (const c of strings(values, 'cidr')) if (!parseCidr(c)) fail(`invalid CIDR "${c}"`);
      return { op: 'cidr', ...flags, cidrs: strings(values, 'cidr') };
    case 'gt': case 'gte': case 'lt': case 'lte':
      return { op: 'num', ...flags, cmp: p.op, values: numbers(values, p.op), timePart: null };
    case 'fieldref':
      return { op: 'fieldref', ...flags, refs: strings(values, 'fieldref'), match: p.strOp, cased: p.flags.has('cased') };
    default: {
      const vals = transformValues(strings(values, 'this field'), p, vars);
      const cased = p.flags.has('cased') || vals.some((v) => v.cased);
      return { op: 'string', ...flags, cased, patterns: vals.map((v) => wrap(v.tokens, p.strOp)) };
    }
  }
}

function timeSpec(p: Parsed, values: SigmaScalar[], flags: Flags): ValueSpec {
  if (p.op !== null && !NUM_OPS.has(p.op)) fail(`${p.timePart} cannot be combined with ${p.op}`);
  const cmp = (p.op ?? 'eq') as NumCmp;
  return { op: 'num', ...flags, cmp, values: numbers(values, p.timePart!), timePart: p.timePart };
}

function regex(src: string, p: Parsed): RegExp {
  const problem = regexProblem(src);
  if (problem) fail(`regular expression ${JSON.stringify(src)}: ${problem}`);
  try {
    return buildRegExp(src, { i: p.flags.has('i'), m: p.flags.has('m'), s: p.flags.has('s') });
  } catch (e) {
    return fail(`invalid regular expression ${JSON.stringify(src)}: ${(e as Error).message}`);
  }
}
