import { createError, isCustosError, type CustosError } from '../../shared/errors.js';

/**
 * Error codes of the audit forwarders. They surface in a forwarder's status
 * and log lines (and from the factory at start), never to API callers; the
 * status is the nearest HTTP meaning.
 */
export const FORWARD_ERRORS = {
  /** A configured file (CA, certificate, key, HMAC secret, NATS credentials) cannot be read. */
  FILE_UNREADABLE: { code: 'AUDIT_FORWARD_FILE_UNREADABLE', status: 500 },
  /** A configured HMAC secret file holds fewer than 32 bytes. */
  SECRET_INVALID: { code: 'AUDIT_FORWARD_SECRET_INVALID', status: 500 },
  /** The log source returned entries that do not continue the cursor (a gap or reordering). */
  SOURCE_GAP: { code: 'AUDIT_FORWARD_SOURCE_GAP', status: 500 },
  /** A log entry's JSON does not parse or lacks `metadata.uid`. */
  BAD_ENTRY: { code: 'AUDIT_FORWARD_BAD_ENTRY', status: 500 },
  /** The destination cannot be reached or the TLS handshake failed. */
  CONNECT_FAILED: { code: 'AUDIT_FORWARD_CONNECT_FAILED', status: 502 },
  /** The connection failed or closed before the batch was acknowledged (or settled). */
  CONNECTION_LOST: { code: 'AUDIT_FORWARD_CONNECTION_LOST', status: 502 },
  /** The destination did not acknowledge in time. */
  TIMEOUT: { code: 'AUDIT_FORWARD_TIMEOUT', status: 504 },
  /** The destination answered, but not with an acknowledgement (HTTP non-2xx, NATS publish error). */
  REJECTED: { code: 'AUDIT_FORWARD_REJECTED', status: 502 },
  /** The transport was closed (forwarder stopping) while a batch was in flight. */
  CLOSED: { code: 'AUDIT_FORWARD_CLOSED', status: 503 },
  /** An unexpected failure (its message is reduced to a class and code). */
  FAILED: { code: 'AUDIT_FORWARD_FAILED', status: 500 },
} as const;

export type ForwardErrorName = keyof typeof FORWARD_ERRORS;

/** Builds the coded error `name`; never put secrets in `message`. */
export function forwardError(name: ForwardErrorName, message: string): CustosError {
  const { code, status } = FORWARD_ERRORS[name];
  return createError(code, message, status);
}

/** A network error's short form: its system code (ECONNREFUSED, …) or class, never a payload. */
export function netReason(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.message === 'string') return redact(e.message).slice(0, 200);
  return typeof e?.name === 'string' ? e.name : 'error';
}

const CONNECT_CODES = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ERR_TLS_.*|UNABLE_TO_.*|CERT_.*|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_.*)$/;

/** True when a network error means "could not reach or trust the destination" rather than "lost it midway". */
export function isConnectError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && CONNECT_CODES.test(code);
}

/** Removes URL user-info and query strings, which may hold credentials. */
export function redact(text: string): string {
  return text.replace(/\/\/[^/\s@]*@/g, '//***@').replace(/\?[^\s"']*/g, '?…');
}

/** Turns any failure into the coded error kept for status. */
export function asForwardError(error: unknown): CustosError {
  if (isCustosError(error)) return error;
  return forwardError('FAILED', `unexpected: ${netReason(error)}`);
}
