import { isIP } from 'node:net';
import type { JsonValue } from '../../audit/index.js';
import type { IngestItemCode } from './errors.js';
import type { ItemProblem, JsonObject } from './types.js';

/** Limits on what one external event may be (docs: src/siem/ingest/README.md). */
export const LIMITS = {
  /** The stored audit event is at most 64 KiB (the recorder's limit); this leaves room for Custos's envelope and summary. */
  eventBytes: 60 * 1024,
  /** An event older than this is refused (a replayed or mis-clocked source), as is one from further ahead than `futureMs`. */
  pastMs: 30 * 24 * 3600 * 1000,
  futureMs: 15 * 60 * 1000,
  /** Longest summary string (the original keeps the full value). */
  text: 256,
  message: 2048,
  depth: 16,
} as const;

export const problem = (code: IngestItemCode, detail: string): ItemProblem => ({ code, detail });

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A field by dotted path: nested objects (`{event: {category}}`) or flat
 * dotted keys (`{"event.category": …}`), both legal in ECS documents.
 */
export function get(doc: JsonObject, path: string): JsonValue | undefined {
  if (Object.hasOwn(doc, path)) return doc[path];
  for (let i = path.indexOf('.'); i > 0; i = path.indexOf('.', i + 1)) {
    const head = doc[path.slice(0, i)];
    if (isObject(head)) {
      const found = get(head, path.slice(i + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** A non-empty string, trimmed to `max` characters; anything else is absent. */
export function text(v: JsonValue | undefined, max: number = LIMITS.text): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s === '' ? undefined : s.slice(0, max);
}

/** Strings of a string or string array, lower-cased (ECS categorisation fields may be either). */
export function words(v: JsonValue | undefined): string[] {
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.filter((x): x is string => typeof x === 'string' && x !== '').map((x) => x.toLowerCase().slice(0, 64));
}

export function int(v: JsonValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** An IP address as text, or absent (an invalid one is not stored in the summary). */
export function ip(v: JsonValue | undefined): string | undefined {
  const s = text(v, 64);
  return s && isIP(s) ? s : undefined;
}

/**
 * The event's time: epoch milliseconds or an ISO-8601 string, inside the
 * accepted window around `now`; otherwise the problem to report.
 */
export function eventTime(v: JsonValue | undefined, now: Date): { time: string } | { problem: ItemProblem } {
  if (v === undefined || v === null) return { problem: problem('EVENT_FIELD_MISSING', 'the event has no time') };
  const ms = typeof v === 'number' ? v : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) return { problem: problem('EVENT_TIME_INVALID', 'the event time is neither epoch milliseconds nor an ISO-8601 date-time') };
  if (ms < now.getTime() - LIMITS.pastMs || ms > now.getTime() + LIMITS.futureMs) {
    return { problem: problem('EVENT_TIME_OUT_OF_RANGE', 'the event time is more than 30 days old or more than 15 minutes ahead') };
  }
  return { time: new Date(ms).toISOString() };
}

/** OCSF generic activity of an ECS event.type (creation, access, change, deletion). */
export function crudActivity(types: string[]): number {
  if (types.includes('creation')) return 1;
  if (types.includes('access')) return 2;
  if (types.includes('change')) return 3;
  if (types.includes('deletion')) return 4;
  return 99;
}

/** Depth of a JSON value (refuses pathological nesting before it reaches canonicalisation). */
export function depth(v: JsonValue, limit: number = LIMITS.depth): number {
  if (typeof v !== 'object' || v === null) return 0;
  let max = 0;
  for (const c of Array.isArray(v) ? v : Object.values(v)) {
    if (max >= limit) break;
    max = Math.max(max, 1 + depth(c, limit));
  }
  return max;
}
