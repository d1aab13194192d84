/**
 * Sigma string values: wildcards (`*`, `?`), backslash escapes, and the value
 * transformations (windash, base64, base64offset, utf16*) as a token list
 * that matchers.ts compiles to a fast comparison or an anchored RegExp.
 */

/** A literal run, `*` (any run), `?` (one character) or a windash class. */
export type Token = string | typeof STAR | typeof ONE | typeof DASH;
export const STAR = Symbol('*');
export const ONE = Symbol('?');
export const DASH = Symbol('dash');

/** The characters windash treats as interchangeable (hyphen, slash, en dash, em dash, horizontal bar). */
export const DASH_CHARS = '-/\u2013\u2014\u2015';

/** Pushes a literal, merging with a preceding literal. */
function pushLit(out: Token[], s: string): void {
  if (!s) return;
  const last = out[out.length - 1];
  if (typeof last === 'string') out[out.length - 1] = last + s;
  else out.push(s);
}

/**
 * Parses a plain Sigma string: `\*` and `\?` are literal wildcards, `\\` a
 * backslash, a backslash before anything else stays a backslash.
 */
export function parseSigmaString(s: string): Token[] {
  const out: Token[] = [];
  let lit = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === '*' || n === '?' || n === '\\') {
        lit += n;
        i++;
      } else lit += '\\';
    } else if (c === '*' || c === '?') {
      pushLit(out, lit);
      lit = '';
      if (!(c === '*' && out[out.length - 1] === STAR)) out.push(c === '*' ? STAR : ONE);
    } else lit += c;
  }
  pushLit(out, lit);
  return out;
}

/** A literal (no wildcard meaning) as tokens. */
export function literal(s: string): Token[] {
  return s ? [s] : [];
}

export function hasWildcards(tokens: readonly Token[]): boolean {
  return tokens.some((t) => typeof t !== 'string');
}

/** The literal text of wildcard-free tokens. */
export function plainText(tokens: readonly Token[]): string {
  return tokens.map((t) => (typeof t === 'string' ? t : '')).join('');
}

/** windash: every dash-like character in literals becomes a class of all of them (no permutation blow-up). */
export function windash(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    if (typeof t !== 'string') {
      out.push(t);
      continue;
    }
    let lit = '';
    for (const c of t) {
      if (DASH_CHARS.includes(c)) {
        pushLit(out, lit);
        lit = '';
        out.push(DASH);
      } else lit += c;
    }
    pushLit(out, lit);
  }
  return out;
}

export type Utf16 = 'utf16le' | 'utf16be' | 'utf16';

/** Encodes text as the bytes a base64 modifier should see. */
export function encodeText(s: string, enc: Utf16 | null): Buffer {
  if (enc === null) return Buffer.from(s, 'utf8');
  const le = Buffer.from(s, 'utf16le');
  if (enc === 'utf16le') return le;
  const be = Buffer.from(le);
  be.swap16();
  // `utf16` prepends the little-endian byte order mark (FF FE), as the modifiers appendix shows.
  return enc === 'utf16be' ? be : Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
}

export function base64(bytes: Buffer): string {
  return bytes.toString('base64');
}

/**
 * The three base64 forms a byte string takes when it starts at offset 0, 1 or
 * 2 of a larger encoded message: encode with 0–2 filler bytes in front, then
 * drop the characters that depend on the unknown neighbours.
 */
export function base64Offsets(bytes: Buffer): string[] {
  const out: string[] = [];
  const dropStart = [0, 2, 3];
  for (let shift = 0; shift < 3; shift++) {
    const enc = Buffer.concat([Buffer.alloc(shift, 0x20), bytes]).toString('base64').replace(/=+$/, '');
    const rem = (bytes.length + shift) % 3;
    // A trailing partial group's last character mixes in bits of the following (unknown) byte.
    const dropEnd = rem === 0 ? 0 : 1;
    const s = enc.slice(dropStart[shift], enc.length - dropEnd);
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

/** Escapes a literal for use inside a RegExp. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** An anchored RegExp source for wildcard tokens. */
export function tokensToRegExpSource(tokens: readonly Token[]): string {
  let src = '^';
  for (const t of tokens) {
    if (typeof t === 'string') src += escapeRegExp(t);
    else if (t === STAR) src += '.*';
    else if (t === ONE) src += '.';
    else src += '[-/\\u2013\\u2014\\u2015]';
  }
  return src + '$';
}
