import { domainToASCII } from 'node:url';
// The core entry with the same "min" metadata the package's default entry binds: the same parse,
// without the default entry's per-call argument copying.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/core';
import metadata from 'libphonenumber-js/min/metadata';
import { MAX_STRING } from './schema.js';
import type { FieldDef } from './types.js';

/** A normalised scalar or object value; `undefined` result means invalid (the reason is the message). */
export type Normalised = { ok: true; value: string | number | boolean | Record<string, unknown> } | { ok: false; message: string };

const MAX_OBJECT_BYTES = 65_536;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
// Printable local part without spaces, quotes or angle brackets (RFC 5321 dot-atom, plus UTF-8 per RFC 6531).
const LOCAL = /^[^\s"<>()[\]\\,;:@]+$/u;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/**
 * A lower-cased ASCII domain that the WHATWG host parser (domainToASCII) returns unchanged: letters,
 * digits and hyphens in non-empty labels, no `xn--` label (punycode is decoded and checked there),
 * and a last label that is not a number (`1.2.3.4` or `a.0x1f` would be parsed as IPv4).
 */
const PLAIN_DOMAIN = /^(?!xn--)[a-z0-9-]+(?:\.(?!xn--)[a-z0-9-]+)*$/;
const NUMERIC_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)$/;
/** domainToASCII of a lower-cased domain, without calling it for a plain ASCII one (exported for the equivalence test). */
export const asciiDomain = (d: string): string => (PLAIN_DOMAIN.test(d) && !NUMERIC_LABEL.test(d) ? d : domainToASCII(d));
const bad = (message: string): Normalised => ({ ok: false, message });

/** Email: trimmed, lower-cased, domain in IDNA ASCII (punycode) form; `Ä@Bücher.de` and `ä@xn--bcher-kva.de` are one address. */
export function normaliseEmail(v: unknown): Normalised {
  if (typeof v !== 'string' || LONE_SURROGATE.test(v)) return bad('must be a string of well-formed Unicode');
  const s = v.trim().normalize('NFC');
  const at = s.lastIndexOf('@');
  if (at < 1 || at === s.length - 1 || s.length > 320) return bad('must be an email address');
  const local = s.slice(0, at).toLowerCase();
  const domain = asciiDomain(s.slice(at + 1).toLowerCase());
  if (!LOCAL.test(local) || local.length > 64 || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return bad('must be an email address');
  if (!domain || !domain.includes('.') || domain.length > 253 || domain.startsWith('.') || domain.endsWith('.')) return bad('must be an email address with a valid domain');
  return { ok: true, value: `${local}@${domain}` };
}

/** Phone: E.164 (`+4930123456`); a number without country code is read in the field's region. */
export function normalisePhone(v: unknown, region?: string): Normalised {
  if (typeof v !== 'string' || v.length > 64) return bad('must be a phone number string');
  const p = region ? parsePhoneNumberFromString(v, region as CountryCode, metadata) : parsePhoneNumberFromString(v, metadata);
  if (!p?.isValid()) return bad(region ? `must be a valid phone number (international, or in region ${region})` : 'must be a valid phone number in international form (+…)');
  return { ok: true, value: p.number };
}

/** Date: a calendar date `YYYY-MM-DD` kept as is, or an RFC 3339 date-time normalised to UTC ISO. */
export function normaliseDate(v: unknown): Normalised {
  if (typeof v !== 'string') return bad('must be an ISO 8601 date string');
  const m = DATE.exec(v);
  if (m) {
    const d = new Date(`${v}T00:00:00Z`);
    if (Number.isNaN(d.getTime()) || d.getUTCDate() !== Number(m[3]) || d.getUTCMonth() + 1 !== Number(m[2])) return bad('is not a calendar date');
    return { ok: true, value: v };
  }
  if (!DATE_TIME.test(v)) return bad('must be YYYY-MM-DD or an RFC 3339 date-time');
  const t = Date.parse(v);
  if (Number.isNaN(t)) return bad('is not a valid date-time');
  return { ok: true, value: new Date(t).toISOString() };
}

function normaliseString(v: unknown, def: FieldDef): Normalised {
  if (typeof v !== 'string') return bad('must be a string');
  if (LONE_SURROGATE.test(v)) return bad('is not well-formed Unicode');
  const s = v.normalize('NFC');
  const max = def.maxLength ?? MAX_STRING;
  if (s.length > max) return bad(`longer than ${max} characters`);
  return { ok: true, value: s };
}

function normaliseObject(v: unknown): Normalised {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(v)) > MAX_OBJECT_BYTES) return bad(`larger than ${MAX_OBJECT_BYTES} bytes`);
  return { ok: true, value: v as Record<string, unknown> };
}

/** Validates and normalises one value for its field (files are not set through here). */
export function normalise(v: unknown, def: FieldDef): Normalised {
  switch (def.type) {
    case 'string':
      return normaliseString(v, def);
    case 'email':
      return normaliseEmail(v);
    case 'phone':
      return normalisePhone(v, def.region);
    case 'date':
      return normaliseDate(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? { ok: true, value: v } : bad('must be a finite number');
    case 'boolean':
      return typeof v === 'boolean' ? { ok: true, value: v } : bad('must be a boolean');
    case 'object':
      return normaliseObject(v);
    case 'file':
      return bad('file content is uploaded through the files route');
  }
}

/** The text a blind index is computed over: the normalised value, type-tagged so 1 and "1" differ. */
export function indexText(def: FieldDef, value: string | number | boolean | Record<string, unknown>): string {
  return `${def.type}:${typeof value === 'string' ? value : JSON.stringify(value)}`;
}
