/**
 * Detection conditions: `and`, `or`, `not`, parentheses, `1 of x*`,
 * `all of x*`, `1 of them`, `all of them`. Precedence, loosest first: or,
 * and, not, `x of`, parentheses (as the rules specification lists it).
 */
import type { ConditionNode } from './types.js';

export class ConditionError extends Error {}

function tokenize(src: string): string[] {
  if (src.includes('|')) throw new ConditionError('aggregations after "|" are obsolete in Sigma; write a correlation rule');
  const out: string[] = [];
  const re = /\s*([()]|[^\s()]+)/gy;
  let end = 0;
  for (let m = re.exec(src); m !== null; m = re.exec(src)) {
    out.push(m[1]!);
    end = re.lastIndex;
  }
  if (src.slice(end).trim() !== '') throw new ConditionError(`unexpected text "${src.slice(end)}"`);
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', '(', ')']);

/** Parses one condition string; identifiers are checked against `known`. */
export function parseCondition(src: string, known: readonly string[]): ConditionNode {
  const toks = tokenize(src);
  let pos = 0;
  const peek = (): string | undefined => toks[pos]?.toLowerCase();
  const expect = (t: string): void => {
    if (peek() !== t) throw new ConditionError(`expected "${t}" ${pos < toks.length ? `before "${toks[pos]}"` : 'at the end'}`);
    pos++;
  };

  const parseOr = (): ConditionNode => {
    const args = [parseAnd()];
    while (peek() === 'or') {
      pos++;
      args.push(parseAnd());
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  };
  const parseAnd = (): ConditionNode => {
    const args = [parseNot()];
    while (peek() === 'and') {
      pos++;
      args.push(parseNot());
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  };
  const parseNot = (): ConditionNode => {
    if (peek() === 'not') {
      pos++;
      return { op: 'not', arg: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): ConditionNode => {
    const t = toks[pos];
    if (t === undefined) throw new ConditionError('condition ends too early');
    if (t === '(') {
      pos++;
      const inner = parseOr();
      expect(')');
      return inner;
    }
    const lower = t.toLowerCase();
    if ((lower === '1' || lower === 'all' || lower === 'any') && toks[pos + 1]?.toLowerCase() === 'of') {
      pos += 2;
      const target = toks[pos];
      if (target === undefined || KEYWORDS.has(target.toLowerCase())) throw new ConditionError(`"${t} of" needs "them" or a pattern`);
      pos++;
      const pattern = target.toLowerCase() === 'them' ? 'them' : target;
      if (ofTargets(pattern, known).length === 0) throw new ConditionError(`"${t} of ${target}" matches no search identifier`);
      return { op: 'of', quantifier: lower === 'all' ? 'all' : 'one', pattern };
    }
    if (KEYWORDS.has(lower)) throw new ConditionError(`unexpected "${t}"`);
    if (!known.includes(t)) throw new ConditionError(`unknown search identifier "${t}"`);
    pos++;
    return { op: 'id', name: t };
  };

  const node = parseOr();
  if (pos < toks.length) throw new ConditionError(`unexpected "${toks[pos]}"`);
  return node;
}

/** The identifiers an `x of` pattern covers: `them` is all of them except those starting with `_`. */
export function ofTargets(pattern: string, known: readonly string[]): string[] {
  if (pattern === 'them') return known.filter((k) => !k.startsWith('_'));
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return known.filter((k) => re.test(k));
}
