import { createError, type CustosError } from '../../shared/errors.js';

/**
 * Error codes raised by the audit log core. Each is a stable UPPER_SNAKE code
 * for problem+json; the status is what an HTTP caller would see.
 */
export const AUDIT_ERRORS = {
  /** A value outside the RFC 8785 / I-JSON data model was given for hashing. */
  EVENT_NOT_CANONICALIZABLE: { code: 'AUDIT_EVENT_NOT_CANONICALIZABLE', status: 400 },
  /** A signed note is not well formed (framing, encoding, signature lines). */
  NOTE_MALFORMED: { code: 'AUDIT_NOTE_MALFORMED', status: 400 },
  /** No signature on a note comes from a key the caller trusts. */
  NOTE_UNKNOWN_KEY: { code: 'AUDIT_NOTE_UNKNOWN_KEY', status: 422 },
  /** A signature from a trusted key does not verify. */
  NOTE_BAD_SIGNATURE: { code: 'AUDIT_NOTE_BAD_SIGNATURE', status: 422 },
  /** A checkpoint body is not a strict C2SP tlog-checkpoint. */
  CHECKPOINT_MALFORMED: { code: 'AUDIT_CHECKPOINT_MALFORMED', status: 400 },
  /** A key name, verifier key or private key is unusable. */
  KEY_INVALID: { code: 'AUDIT_KEY_INVALID', status: 400 },
  /** A proof or root was requested for an index or size the tree cannot answer. */
  PROOF_RANGE_INVALID: { code: 'AUDIT_PROOF_RANGE_INVALID', status: 400 },
  /** The node store lacks a node the tree of that size must have. */
  TREE_NODE_MISSING: { code: 'AUDIT_TREE_NODE_MISSING', status: 500 },
  /** A leaf hash handed to the tree is not 32 bytes. */
  LEAF_HASH_INVALID: { code: 'AUDIT_LEAF_HASH_INVALID', status: 500 },
  /** A tree state (size + frontier) handed to integrate() is inconsistent. */
  TREE_STATE_INVALID: { code: 'AUDIT_TREE_STATE_INVALID', status: 500 },
  /** The verifier was called with unusable input (not tampering: a caller bug). */
  VERIFY_INPUT_INVALID: { code: 'AUDIT_VERIFY_INPUT_INVALID', status: 400 },
  /** The external (witness) checkpoint given to the verifier does not open. */
  WITNESS_INVALID: { code: 'AUDIT_WITNESS_INVALID', status: 400 },
} as const;

export type AuditErrorName = keyof typeof AUDIT_ERRORS;

/** Builds the coded error `name` with a message; never put secrets in `message`. */
export function auditError(name: AuditErrorName, message: string): CustosError {
  const { code, status } = AUDIT_ERRORS[name];
  return createError(code, message, status);
}
