/**
 * Per-item refusal codes of ingestion (the `code` of a rejected item in a
 * `POST /api/v1/events` answer; syslog frames count under the same codes).
 * Documented in docs/errors.md.
 */
export const INGEST_ITEM_CODES = [
  'EVENT_NOT_OBJECT',
  'EVENT_FORMAT_UNKNOWN',
  'EVENT_FIELD_MISSING',
  'EVENT_FIELD_INVALID',
  'EVENT_TIME_INVALID',
  'EVENT_TIME_OUT_OF_RANGE',
  'EVENT_TOO_LARGE',
  'EVENT_TOO_DEEP',
  'EVENT_NOT_CANONICALIZABLE',
  'SYSLOG_MALFORMED',
] as const;

export type IngestItemCode = (typeof INGEST_ITEM_CODES)[number];
