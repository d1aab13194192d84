/**
 * Coded errors. Every error Custos raises on purpose is a CustosError with a
 * stable UPPER_SNAKE `code` (documented in docs/errors.md) and the HTTP status
 * it maps to. The server's error handler turns it into RFC 9457 problem+json;
 * the CLI prints `code: message` on one line and exits 2.
 */
export class CustosError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra, non-secret members for the problem document (e.g. `errors`). */
  readonly extensions: Record<string, unknown> | undefined;

  constructor(code: string, message: string, status: number, extensions?: Record<string, unknown>) {
    super(message);
    this.name = 'CustosError';
    this.code = code;
    this.status = status;
    this.extensions = extensions;
  }
}

/** Creates a coded error; `status` is the HTTP status it answers with. */
export function createError(
  code: string,
  message: string,
  status = 400,
  extensions?: Record<string, unknown>,
): CustosError {
  return new CustosError(code, message, status, extensions);
}

export function isCustosError(e: unknown): e is CustosError {
  return e instanceof CustosError;
}
