/**
 * Compiles a ValueSpec into a closure over the evaluation context. Strings
 * compare against the slot's cached lower-case form unless `cased`; plain
 * values go through a Set, prefix/suffix/substring patterns through
 * startsWith/endsWith/includes, everything else through one anchored RegExp.
 */
import type { EvalCtx } from './access.js';
import { cidrSet } from './ip.js';
import type { NumCmp, TimePart, ValueSpec } from './modifiers.js';
import { MAX_REGEX_INPUT } from './regex.js';
import { STAR, tokensToRegExpSource, type Token } from './strings.js';

export type Pred = (c: EvalCtx) => boolean;
type Scalar = string | number | boolean;
/** A test on one scalar; `lower` is its lower-case string form when the test asked for it. */
interface ScalarTest {
  lower: boolean;
  test(raw: Scalar, lower: string): boolean;
}

function isPlain(t: Token[]): boolean {
  return t.every((x) => typeof x === 'string');
}

/** Classifies patterns by shape; one closure tests them all (OR) — or all of them (AND). */
function stringTest(patterns: Token[][], cased: boolean, all: boolean): ScalarTest {
  const norm = (t: Token[]): Token[] => (cased ? t : t.map((x) => (typeof x === 'string' ? x.toLowerCase() : x)));
  const tests: Array<(s: string) => boolean> = [];
  const exact = new Set<string>();
  const starts: string[] = [];
  const ends: string[] = [];
  const contains: string[] = [];
  const regex: string[] = [];
  for (const raw of patterns) {
    const t = norm(raw);
    const inner = t.slice(t[0] === STAR ? 1 : 0, t[t.length - 1] === STAR && t.length > 1 ? -1 : undefined);
    if (isPlain(t)) exact.add((t[0] as string | undefined) ?? '');
    else if (t.length === 1 && t[0] === STAR) regex.push('^.*$');
    else if (isPlain(inner) && inner.length === 1) {
      const s = inner[0] as string;
      if (t[0] === STAR && t[t.length - 1] === STAR) contains.push(s);
      else if (t[0] === STAR) ends.push(s);
      else starts.push(s);
    } else regex.push(tokensToRegExpSource(t));
  }
  if (all) {
    for (const s of exact) tests.push((v) => v === s);
    for (const s of starts) tests.push((v) => v.startsWith(s));
    for (const s of ends) tests.push((v) => v.endsWith(s));
    for (const s of contains) tests.push((v) => v.includes(s));
    for (const r of regex) {
      const re = new RegExp(r, 's');
      tests.push((v) => re.test(v));
    }
    return { lower: !cased, test: (raw, lower) => { const v = cased ? String(raw) : lower; return tests.every((f) => f(v)); } };
  }
  if (exact.size === 1) { const [s] = exact; tests.push((v) => v === s); }
  else if (exact.size > 1) tests.push((v) => exact.has(v));
  if (starts.length) tests.push((v) => starts.some((s) => v.startsWith(s)));
  if (ends.length) tests.push((v) => ends.some((s) => v.endsWith(s)));
  if (contains.length === 1) { const [s] = contains as [string]; tests.push((v) => v.includes(s)); }
  else if (contains.length > 1) tests.push((v) => contains.some((s) => v.includes(s)));
  if (regex.length) {
    const re = new RegExp(regex.map((r) => `(?:${r})`).join('|'), 's');
    tests.push((v) => re.test(v));
  }
  const one = tests.length === 1 ? tests[0]! : (v: string) => tests.some((f) => f(v));
  return cased ? { lower: false, test: (raw) => one(typeof raw === 'string' ? raw : String(raw)) }
    : { lower: true, test: (_raw, lower) => one(lower) };
}

function cmp(op: NumCmp, a: number, b: number): boolean {
  switch (op) {
    case 'gt': return a > b;
    case 'gte': return a >= b;
    case 'lt': return a < b;
    case 'lte': return a <= b;
    default: return a === b;
  }
}

function isoWeek(d: Date): number {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const y0 = Date.UTC(t.getUTCFullYear(), 0, 1);
  return Math.ceil(((t.getTime() - y0) / 86_400_000 + 1) / 7);
}

/** Extracts a UTC calendar part from epoch milliseconds or a date string; NaN when not a date. */
export function timePart(raw: Scalar, part: TimePart): number {
  const d = new Date(typeof raw === 'number' ? raw : String(raw));
  if (Number.isNaN(d.getTime())) return NaN;
  switch (part) {
    case 'minute': return d.getUTCMinutes();
    case 'hour': return d.getUTCHours();
    case 'day': return d.getUTCDate();
    case 'week': return isoWeek(d);
    case 'month': return d.getUTCMonth() + 1;
    default: return d.getUTCFullYear();
  }
}

function numTest(op: NumCmp, values: number[], part: TimePart | null, all: boolean): ScalarTest {
  const toNum = (raw: Scalar): number => {
    if (part) return timePart(raw, part);
    if (typeof raw === 'number') return raw;
    if (typeof raw === 'string' && raw.trim() !== '') return Number(raw);
    return NaN;
  };
  const test = all
    ? (raw: Scalar) => { const n = toNum(raw); return !Number.isNaN(n) && values.every((v) => cmp(op, n, v)); }
    : (raw: Scalar) => { const n = toNum(raw); return !Number.isNaN(n) && values.some((v) => cmp(op, n, v)); };
  return { lower: false, test };
}

function scalarTest(spec: ValueSpec): ScalarTest {
  switch (spec.op) {
    case 'string': return stringTest(spec.patterns, spec.cased, spec.all);
    case 'num': return numTest(spec.cmp, spec.values, spec.timePart, spec.all);
    case 're': {
      const cut = (raw: Scalar): string => { const s = String(raw); return s.length > MAX_REGEX_INPUT ? s.slice(0, MAX_REGEX_INPUT) : s; };
      const res = spec.regexes;
      return spec.all ? { lower: false, test: (raw) => { const s = cut(raw); return res.every((r) => r.test(s)); } }
        : { lower: false, test: (raw) => { const s = cut(raw); return res.some((r) => r.test(s)); } };
    }
    case 'cidr': {
      const sets = spec.all ? spec.cidrs.map((c) => cidrSet([c])) : [cidrSet(spec.cidrs)];
      return { lower: false, test: (raw) => typeof raw === 'string' && sets.every((s) => s.test(raw)) };
    }
    default: throw new Error(`no scalar test for ${spec.op}`);
  }
}

/** True when any slot's value (or any element of an array value) passes. */
function anySlot(slots: number[], st: ScalarTest): Pred {
  const one = (c: EvalCtx, slot: number): boolean => {
    const v = c.get(slot);
    if (v === undefined || v === null) return false;
    const t = typeof v;
    if (t === 'string') return st.test(v as string, st.lower ? c.lower(slot) : '');
    if (t === 'number' || t === 'boolean') return st.test(v as Scalar, st.lower ? String(v) : '');
    if (!Array.isArray(v)) return false;
    for (const el of v) {
      const et = typeof el;
      if (et === 'string' || et === 'number' || et === 'boolean') {
        if (st.test(el as Scalar, st.lower ? String(el).toLowerCase() : '')) return true;
      }
    }
    return false;
  };
  if (slots.length === 1) { const s = slots[0]!; return (c) => one(c, s); }
  return (c) => { for (const s of slots) if (one(c, s)) return true; return false; };
}

/** Keyword search: any string or number anywhere in the event. */
function anyLeaf(st: ScalarTest): Pred {
  return (c) => {
    const { raw, lower } = c.leaves();
    for (let i = 0; i < raw.length; i++) if (st.test(raw[i]!, lower[i]!)) return true;
    return false;
  };
}

/** `Field|fieldref: Other`: the value of Field compared with the value of Other. */
function fieldRef(slots: number[], refSlots: number[][], match: 'eq' | 'contains' | 'startswith' | 'endswith', cased: boolean, all: boolean): Pred {
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);
  const cmpOne = (a: string, b: string): boolean => {
    if (!cased) { a = a.toLowerCase(); b = b.toLowerCase(); }
    return match === 'eq' ? a === b : match === 'contains' ? a.includes(b) : match === 'startswith' ? a.startsWith(b) : a.endsWith(b);
  };
  const oneRef = (c: EvalCtx, refs: number[]): boolean => {
    for (const s of slots) {
      const a = str(c.get(s));
      if (a === null) continue;
      for (const r of refs) { const b = str(c.get(r)); if (b !== null && cmpOne(a, b)) return true; }
    }
    return false;
  };
  return all ? (c) => refSlots.every((r) => oneRef(c, r)) : (c) => refSlots.some((r) => oneRef(c, r));
}

/**
 * The predicate for one field item. `slots` are the field's event paths (ORed);
 * `refSlots` resolves fieldref targets; `slots` null means a keyword search.
 */
export function itemPredicate(spec: ValueSpec, slots: number[] | null, refSlots: (field: string) => number[]): Pred {
  if (spec.op === 'exists') {
    const s = slots ?? [];
    return spec.want ? (c) => s.some((x) => c.get(x) !== undefined) : (c) => s.every((x) => c.get(x) === undefined);
  }
  if (spec.op === 'null') {
    const s = slots ?? [];
    return (c) => s.some((x) => { const v = c.get(x); return v === undefined || v === null; });
  }
  let p: Pred;
  if (spec.op === 'fieldref') p = fieldRef(slots ?? [], spec.refs.map(refSlots), spec.match, spec.cased, spec.all);
  else {
    const st = scalarTest(spec);
    // `all` over an array field: each value must be matched by some element.
    if (spec.all && spec.op === 'string' && slots !== null && spec.patterns.length > 1) {
      const parts = spec.patterns.map((pat) => anySlot(slots, stringTest([pat], spec.cased, false)));
      p = (c) => parts.every((f) => f(c));
    } else if (spec.all && slots === null && spec.op === 'string') {
      const parts = spec.patterns.map((pat) => anyLeaf(stringTest([pat], spec.cased, false)));
      p = (c) => parts.every((f) => f(c));
    } else p = slots === null ? anyLeaf(st) : anySlot(slots, st);
  }
  if (spec.neq) { const q = p; return (c) => !q(c); }
  return p;
}
