import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import { isPurpose, type Purpose } from '../access/index.js';
import { vaultErrors } from './errors.js';
import { FIELD_TYPES, INDEXABLE_TYPES, SUBJECT_TYPES, type CollectionInput, type CollectionSchema, type FieldDef, type FieldType } from './types.js';

type Issue = { path: string; message: string };

export const COLLECTION_NAME = /^[a-z][a-z0-9_]{0,62}$/;
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
/** Fides-style taxonomy key: dot-separated lower-case segments, at least two (`user.contact.email`). */
export const CATEGORY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const MAX_FIELDS = 100;
export const MAX_STRING = 65_536;
const FIELD_KEYS = new Set(['type', 'personal', 'category', 'required', 'unique', 'searchable', 'purposes', 'region', 'maxLength', 'maxBytes']);
const SCHEMA_KEYS = new Set(['fields', 'subjectField', 'retentionDays']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optBool = (v: unknown) => v === undefined || typeof v === 'boolean';
const isInt = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function unknownKeys(v: Record<string, unknown>, allowed: Set<string>, path: string, out: Issue[]): void {
  for (const k of Object.keys(v)) if (!allowed.has(k)) out.push({ path: `${path}.${k}`, message: 'unknown key' });
}

/** Shape and option checks for one field; returns the field with defaults, or undefined when unusable. */
function checkField(name: string, raw: unknown, out: Issue[]): FieldDef | undefined {
  const p = `fields.${name}`;
  if (!FIELD_NAME.test(name)) out.push({ path: p, message: 'field names are 1–63 letters, digits or "_", starting with a letter' });
  if (!isObject(raw)) {
    out.push({ path: p, message: 'must be an object' });
    return undefined;
  }
  unknownKeys(raw, FIELD_KEYS, p, out);
  const type = raw.type as FieldType;
  if (!(FIELD_TYPES as readonly unknown[]).includes(type)) {
    out.push({ path: `${p}.type`, message: `must be one of ${FIELD_TYPES.join(', ')}` });
    return undefined;
  }
  for (const k of ['personal', 'required', 'unique', 'searchable'] as const) if (!optBool(raw[k])) out.push({ path: `${p}.${k}`, message: 'must be a boolean' });
  const def: FieldDef = {
    type,
    personal: raw.personal === true,
    required: raw.required === true,
    unique: raw.unique === true,
    searchable: raw.searchable === true || raw.unique === true,
    purposes: [],
  };
  checkCategory(p, raw, def, out);
  checkPurposes(p, raw, def, out);
  checkOptions(p, raw, def, out);
  if ((def.unique || def.searchable) && !INDEXABLE_TYPES.has(type)) out.push({ path: p, message: `a ${type} field cannot be unique or searchable` });
  return def;
}

function checkCategory(p: string, raw: Record<string, unknown>, def: FieldDef, out: Issue[]): void {
  const c = raw.category;
  if (c === undefined) {
    if (def.personal) out.push({ path: `${p}.category`, message: 'a personal field needs a data category, e.g. user.contact.email' });
    return;
  }
  if (typeof c !== 'string' || c.length > 200 || !CATEGORY.test(c)) {
    out.push({ path: `${p}.category`, message: 'must be a dotted lower-case taxonomy key such as user.contact.email' });
    return;
  }
  const user = c.startsWith('user.');
  if (def.personal && !user) out.push({ path: `${p}.category`, message: 'a personal field takes a user.* category' });
  if (!def.personal && user) out.push({ path: `${p}.personal`, message: `category ${c} is personal data: declare personal: true` });
  def.category = c;
}

function checkPurposes(p: string, raw: Record<string, unknown>, def: FieldDef, out: Issue[]): void {
  const ps = raw.purposes;
  if (ps === undefined) {
    if (def.personal) out.push({ path: `${p}.purposes`, message: 'a personal field names the purposes it may be read for' });
    return;
  }
  if (!Array.isArray(ps) || ps.some((x) => typeof x !== 'string' || !isPurpose(x))) {
    out.push({ path: `${p}.purposes`, message: 'must be a list of known purposes' });
    return;
  }
  if (!def.personal) out.push({ path: `${p}.purposes`, message: 'only personal fields are purpose-bound' });
  else if (ps.length === 0) out.push({ path: `${p}.purposes`, message: 'a personal field needs at least one purpose' });
  def.purposes = [...new Set(ps as Purpose[])].sort();
}

function checkOptions(p: string, raw: Record<string, unknown>, def: FieldDef, out: Issue[]): void {
  if (raw.region !== undefined) {
    if (def.type !== 'phone') out.push({ path: `${p}.region`, message: 'only phone fields take a region' });
    else if (typeof raw.region !== 'string' || !isSupportedCountry(raw.region as CountryCode)) out.push({ path: `${p}.region`, message: 'must be a supported ISO 3166-1 alpha-2 region, e.g. DE' });
    else def.region = raw.region;
  }
  if (raw.maxLength !== undefined) {
    if (def.type !== 'string') out.push({ path: `${p}.maxLength`, message: 'only string fields take maxLength' });
    else if (!isInt(raw.maxLength, 1, MAX_STRING)) out.push({ path: `${p}.maxLength`, message: `must be an integer 1..${MAX_STRING}` });
    else def.maxLength = raw.maxLength as number;
  }
  if (raw.maxBytes !== undefined) {
    if (def.type !== 'file') out.push({ path: `${p}.maxBytes`, message: 'only file fields take maxBytes' });
    else if (!isInt(raw.maxBytes, 1, 2 ** 40)) out.push({ path: `${p}.maxBytes`, message: 'must be a positive integer' });
    else def.maxBytes = raw.maxBytes as number;
  }
}

/**
 * Validates a collection schema strictly (unknown keys, bad categories,
 * unique on an unindexable type, a subject field that is missing or not
 * personal...) and returns it with defaults filled in. Throws
 * VAULT_SCHEMA_INVALID listing every problem.
 */
export function validateSchema(input: CollectionInput | unknown): CollectionSchema {
  const out: Issue[] = [];
  if (!isObject(input)) throw vaultErrors.schemaInvalid([{ path: '', message: 'must be an object' }]);
  unknownKeys(input, SCHEMA_KEYS, 'schema', out);
  const fields: Record<string, FieldDef> = {};
  if (!isObject(input.fields) || Object.keys(input.fields).length === 0) out.push({ path: 'fields', message: 'must declare at least one field' });
  else if (Object.keys(input.fields).length > MAX_FIELDS) out.push({ path: 'fields', message: `at most ${MAX_FIELDS} fields` });
  else for (const [name, raw] of Object.entries(input.fields)) {
    const def = checkField(name, raw, out);
    if (def) fields[name] = def;
  }
  if (!isInt(input.retentionDays, 1, 36_500)) out.push({ path: 'retentionDays', message: 'must be an integer number of days, 1..36500' });
  const subject = typeof input.subjectField === 'string' ? input.subjectField : '';
  const sf = fields[subject];
  if (!subject) out.push({ path: 'subjectField', message: 'name the field that identifies the data subject' });
  else if (!sf) out.push({ path: 'subjectField', message: `"${subject}" is not a field of this schema` });
  else {
    if (!sf.personal) out.push({ path: 'subjectField', message: 'the subject field must be personal' });
    if (!sf.required) out.push({ path: 'subjectField', message: 'the subject field must be required' });
    if (!SUBJECT_TYPES.has(sf.type)) out.push({ path: 'subjectField', message: `the subject field must be of type ${[...SUBJECT_TYPES].join(', ')}` });
  }
  if (out.length > 0) throw vaultErrors.schemaInvalid(out);
  return { fields, subjectField: subject, retentionDays: input.retentionDays as number };
}

/** What an update changes; fields removed are erased from every record. */
export interface SchemaChange {
  removed: string[];
  added: string[];
  /** Fields that stop being indexed (their blind-index rows are dropped). */
  unindexed: string[];
}

/**
 * Checks that `next` may replace `prev`: stored values must keep meaning what
 * they meant, so a field keeps its type and personal flag, the subject field
 * stays, and an existing field cannot start being indexed (its values were
 * never blind-indexed). Throws VAULT_SCHEMA_CHANGE_INVALID.
 */
export function diffSchemas(prev: CollectionSchema, next: CollectionSchema): SchemaChange {
  const out: Issue[] = [];
  if (next.subjectField !== prev.subjectField) out.push({ path: 'subjectField', message: 'the subject field cannot change (records are sealed under their subject)' });
  const removed = Object.keys(prev.fields).filter((f) => !next.fields[f]);
  const added = Object.keys(next.fields).filter((f) => !prev.fields[f]);
  const unindexed: string[] = [];
  for (const [name, p] of Object.entries(prev.fields)) {
    const n = next.fields[name];
    if (!n) continue;
    if (n.type !== p.type) out.push({ path: `fields.${name}.type`, message: `cannot change from ${p.type} to ${n.type}; add a new field instead` });
    if (n.personal !== p.personal) out.push({ path: `fields.${name}.personal`, message: 'cannot change; add a new field instead' });
    if (n.region !== p.region) out.push({ path: `fields.${name}.region`, message: 'cannot change (stored numbers were normalised with it)' });
    if (n.unique && !p.unique) out.push({ path: `fields.${name}.unique`, message: 'an existing field cannot become unique; add a new field instead' });
    if (n.searchable && !p.searchable) out.push({ path: `fields.${name}.searchable`, message: 'an existing field cannot become searchable; add a new field instead' });
    if (p.searchable && !n.searchable) unindexed.push(name);
  }
  if (out.length > 0) throw vaultErrors.schemaChangeInvalid(out);
  return { removed, added, unindexed };
}
