/**
 * `|re` values: PCRE-flavoured patterns as the modifiers appendix defines
 * them, compiled to JavaScript RegExps. V8's backtracking engine has no time
 * limit, so patterns that invite catastrophic backtracking are refused at
 * load time and long inputs are cut (see MAX_REGEX_INPUT).
 */

/** Inputs longer than this are matched on their first MAX_REGEX_INPUT characters. */
export const MAX_REGEX_INPUT = 16_384;
const MAX_PATTERN = 4_096;

/** Returns why a pattern is refused, or null when it is acceptable. */
export function regexProblem(src: string): string | null {
  if (src.length > MAX_PATTERN) return `regular expression longer than ${MAX_PATTERN} characters`;
  // Each frame: did the group contain a quantified atom?
  const stack: boolean[] = [false];
  let lastWasQuantifiedGroup: boolean;
  let lastAtomGroupQuantified = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    lastWasQuantifiedGroup = lastAtomGroupQuantified;
    lastAtomGroupQuantified = false;
    if (c === '\\') {
      const n = src[i + 1] ?? '';
      if (/[1-9]/.test(n) || n === 'k') return 'back-references are not supported';
      i++;
    } else if (c === '[') {
      i = skipClass(src, i);
      if (i < 0) return 'unterminated character class';
    } else if (c === '(') {
      if (src.startsWith('(?=', i) || src.startsWith('(?!', i) || src.startsWith('(?<=', i) || src.startsWith('(?<!', i))
        return 'lookahead and lookbehind assertions are not supported';
      if (src.startsWith('(?>', i)) return 'atomic groups are not supported';
      stack.push(false);
    } else if (c === ')') {
      if (stack.length < 2) return 'unbalanced parenthesis';
      const inner = stack.pop()!;
      if (inner) stack[stack.length - 1] = true;
      lastAtomGroupQuantified = inner;
    } else if (isQuantifierAt(src, i)) {
      if (lastWasQuantifiedGroup && unbounded(src, i)) return 'nested quantifiers (such as (a+)+) can backtrack catastrophically';
      if (repeats(src, i)) stack[stack.length - 1] = true;
      if (c === '{') i = src.indexOf('}', i);
      if (src[i + 1] === '?' || src[i + 1] === '+') i++;
    }
  }
  if (stack.length !== 1) return 'unbalanced parenthesis';
  return null;
}

function skipClass(src: string, start: number): number {
  let i = start + 1;
  if (src[i] === '^') i++;
  if (src[i] === ']') i++;
  for (; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === ']') return i;
  }
  return -1;
}

function isQuantifierAt(src: string, i: number): boolean {
  const c = src[i];
  return c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i, i + 24)));
}

/** `*`, `+` and `{n,}`: repetition without an upper bound. */
function unbounded(src: string, i: number): boolean {
  const c = src[i];
  return c === '*' || c === '+' || (c === '{' && /^\{\d+,\}/.test(src.slice(i, i + 24)));
}

/** True for quantifiers that may repeat more than once (`*`, `+`, `{n,}`, `{n,m}` with m > 1). */
function repeats(src: string, i: number): boolean {
  const c = src[i];
  if (c === '*' || c === '+') return true;
  if (c !== '{') return false;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 24));
  if (!m) return false;
  if (m[2] === undefined) return Number(m[1]) > 1;
  return m[3] === '' || Number(m[3]) > 1;
}

/**
 * Builds the RegExp for an `|re` value. Leading PCRE inline flags such as
 * `(?i)` (common in published rules, unknown to V8 before 12.x) become flags.
 */
export function buildRegExp(src: string, flags: { i: boolean; m: boolean; s: boolean }): RegExp {
  let body = src;
  const f = { ...flags };
  const inline = /^\(\?([ims]+)\)/.exec(body);
  if (inline) {
    for (const ch of inline[1]!) f[ch as 'i' | 'm' | 's'] = true;
    body = body.slice(inline[0].length);
  }
  return new RegExp(body, `${f.i ? 'i' : ''}${f.m ? 'm' : ''}${f.s ? 's' : ''}`);
}
