import { loadConfig, type Config } from '../config/index.js';
import { isCustosError } from '../shared/errors.js';

export interface GlobalOptions {
  config?: string;
}

/** Loads the configuration named by --config (else CUSTOS_CONFIG, else ./custos.yaml). */
export function readConfig(opts: GlobalOptions): Config {
  return loadConfig({ configPath: opts.config });
}

/** Exit codes: 0 ok, 1 a check found a problem (e.g. tampering), 2 could not run / bad input. */
export const EXIT = { OK: 0, FOUND: 1, USAGE: 2 } as const;

/** Prints one line for any error and sets the exit code; never a stack trace for expected errors. */
export function reportError(error: unknown): number {
  if (isCustosError(error)) {
    process.stderr.write(`custos: ${error.message}\n`);
    return EXIT.USAGE;
  }
  const e = error as { code?: string; message?: string };
  process.stderr.write(`custos: unexpected error${e.code ? ` (${e.code})` : ''}: ${String(e.message ?? error).split('\n')[0]}\n`);
  if (process.env.CUSTOS_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  return EXIT.USAGE;
}

/** Wraps a verb's action: any error becomes one line and exit code 2. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT.OK;
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}
