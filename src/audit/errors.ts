import { createError, type CustosError } from '../shared/errors.js';

/**
 * Error codes of the sequenced audit log (store, sequencer, reading API,
 * bundles, retention). The core's own codes are in log/errors.ts.
 */
export const AUDIT_LOG_ERRORS = {
  /** No checkpoint signing key is available (keyring not configured, or no --key for a verifier). */
  SIGNER_MISSING: { code: 'AUDIT_SIGNER_MISSING', status: 503 },
  /** The checkpoint signer's signature does not verify under its own public key. */
  SIGNER_INVALID: { code: 'AUDIT_SIGNER_INVALID', status: 500 },
  /** The stored log is not in a state the sequencer may extend (a checkpoint attests more entries than exist). */
  LOG_INCONSISTENT: { code: 'AUDIT_LOG_INCONSISTENT', status: 500 },
  /** No checkpoint has been signed yet. */
  CHECKPOINT_NOT_FOUND: { code: 'AUDIT_CHECKPOINT_NOT_FOUND', status: 404 },
  /** A reading query is contradictory (time range reversed, size beyond the log). */
  QUERY_INVALID: { code: 'AUDIT_QUERY_INVALID', status: 400 },
  /** The retention configured is lower than one used before: it can only be raised. */
  RETENTION_LOWERED: { code: 'AUDIT_RETENTION_LOWERED', status: 400 },
  /** An archive cut-off is younger than the retention allows. */
  RETENTION_NOT_REACHED: { code: 'AUDIT_RETENTION_NOT_REACHED', status: 400 },
  /** A file named on the command line cannot be read, or the output already exists. */
  FILE_UNUSABLE: { code: 'AUDIT_FILE_UNUSABLE', status: 400 },
  /** A bundle is not a Custos audit bundle (unreadable structure, unknown format). */
  BUNDLE_MALFORMED: { code: 'AUDIT_BUNDLE_MALFORMED', status: 400 },
} as const;

export type AuditLogErrorName = keyof typeof AUDIT_LOG_ERRORS;

/** Builds the coded error `name`; never put secrets or event contents in `message`. */
export function auditLogError(name: AuditLogErrorName, message: string): CustosError {
  const { code, status } = AUDIT_LOG_ERRORS[name];
  return createError(code, message, status);
}
