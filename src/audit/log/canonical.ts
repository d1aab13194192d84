/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for audit events, through the
 * `canonicalize` package (by the RFC's author). Events are canonicalised
 * before hashing so that the same event always gives the same leaf.
 *
 * The package follows JSON.stringify's habits, which would silently change
 * or break an event (a function member becomes the text `undefined`, a Map
 * becomes `{}`, a boxed string becomes an object of its characters, a cycle
 * overflows the stack). So the value is checked first and anything outside
 * the I-JSON data model RFC 8785 requires is refused.
 */
import canonicalizeModule from 'canonicalize';
import { auditError } from './errors.js';
import { isWellFormedUnicode } from './text.js';

type Serialize = (input: unknown) => string | undefined;
// canonicalize@2 is CommonJS (`module.exports = serialize`) while its typings declare an ES default
// export; depending on the loader the default import is the function or a namespace holding it.
const serialize: Serialize =
  typeof canonicalizeModule === 'function'
    ? (canonicalizeModule as Serialize)
    : (canonicalizeModule as unknown as { default: Serialize }).default;

/** Deepest nesting accepted; audit events are shallow, and this keeps recursion far from the stack limit. */
export const MAX_CANONICAL_DEPTH = 64;

function refuse(path: string, why: string): never {
  throw auditError('EVENT_NOT_CANONICALIZABLE', `${path || 'value'}: ${why}`);
}

function hasToJSON(value: object): value is { toJSON: () => unknown } {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

function checkObject(value: object, path: string, depth: number, ancestors: Set<object>): void {
  if (ancestors.has(value)) refuse(path, 'cycle');
  if (hasToJSON(value)) return check(value.toJSON(), path, depth + 1, ancestors, false);
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      // The package's reduce() would skip a hole and shift every later element.
      if (!(i in value)) refuse(`${path}[${i}]`, 'sparse array');
      check(value[i] as unknown, `${path}[${i}]`, depth + 1, ancestors, false);
    }
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) refuse(path, 'not a plain object (Map, Set, class instance, boxed primitive...)');
    for (const [key, member] of Object.entries(value)) {
      if (!isWellFormedUnicode(key)) refuse(path, 'property name with an unpaired surrogate');
      // An undefined member is absent in JSON; JCS sees the same object without it.
      if (member !== undefined) check(member, `${path}.${key}`, depth + 1, ancestors, false);
    }
  }
  ancestors.delete(value);
}

function check(value: unknown, path: string, depth: number, ancestors: Set<object>, topLevel: boolean): void {
  if (depth > MAX_CANONICAL_DEPTH) refuse(path, `nested deeper than ${MAX_CANONICAL_DEPTH}`);
  switch (typeof value) {
    case 'string':
      if (!isWellFormedUnicode(value)) refuse(path, 'string with an unpaired surrogate');
      return;
    case 'number':
      if (!Number.isFinite(value)) refuse(path, `${value} is not a JSON number`);
      return;
    case 'boolean':
      return;
    case 'bigint':
      return refuse(path, 'BigInt has no RFC 8785 representation (use a string)');
    case 'undefined':
      return refuse(path, topLevel ? 'undefined is not JSON' : 'undefined has no JSON text here');
    case 'object':
      if (value === null) return;
      return checkObject(value, path, depth, ancestors);
    default:
      return refuse(path, `${typeof value} is not JSON`);
  }
}

/**
 * The RFC 8785 canonical JSON text of `value`: members sorted by UTF-16 code
 * units, no whitespace, ECMAScript number formatting (-0 → 0, 1e21 → 1e+21).
 * Throws AUDIT_EVENT_NOT_CANONICALIZABLE for undefined (top level or in an
 * array), NaN, ±Infinity, BigInt, functions, symbols, unpaired surrogates,
 * non-plain objects without toJSON, cycles and nesting beyond MAX_CANONICAL_DEPTH.
 */
export function canonicalJson(value: unknown): string {
  // One pass that checks and writes at once; anything it is not sure of
  // (including every refusal, whose message names the path) goes the long way.
  const fast = value === undefined ? undefined : write(value, 0);
  return fast ?? canonicalJsonReference(value);
}

/** The checker, then the package: what canonicalJson's one-pass writer must agree with (its tests compare the two). */
export function canonicalJsonReference(value: unknown): string {
  check(value, '', 0, new Set(), true);
  const text = serialize(value);
  if (typeof text !== 'string') refuse('', 'has no JSON text');
  return text;
}

const wellFormed: (text: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (text) => (text as unknown as { isWellFormed(): boolean }).isWellFormed()
    : isWellFormedUnicode;

/**
 * The text `serialize` gives for a value `check` accepts, built in one walk
 * without the checker's paths and ancestor set (a cycle ends at the depth
 * limit), or undefined for anything else — then canonicalJson takes the long
 * way and refuses with the checker's message. Strings, numbers and keys are
 * written with JSON.stringify, as the package does; keys sort with the same
 * default (UTF-16 code unit) sort.
 */
function write(value: unknown, depth: number): string | undefined {
  if (depth > MAX_CANONICAL_DEPTH) return undefined;
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? JSON.stringify(value) : undefined;
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      // The package calls toJSON only when it is an instance of this realm's Function.
      if (hasToJSON(value)) return value.toJSON instanceof Function ? write(value.toJSON(), depth + 1) : undefined;
      return Array.isArray(value) ? writeArray(value, depth) : writeObject(value, depth);
    default:
      return undefined;
  }
}

function writeArray(value: unknown[], depth: number): string | undefined {
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) return undefined;
    const item = value[i];
    if (item === undefined) return undefined;
    const text = write(item, depth + 1);
    if (text === undefined) return undefined;
    out += i === 0 ? text : `,${text}`;
  }
  return `${out}]`;
}

function writeObject(value: object, depth: number): string | undefined {
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    // The checker refuses such a name even on an undefined member.
    if (!wellFormed(key)) return undefined;
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    const text = write(member, depth + 1);
    if (text === undefined) return undefined;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${text}`;
    first = false;
  }
  return `${out}}`;
}

/** canonicalJson(value) as UTF-8 bytes: the leaf data of an audit entry. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
