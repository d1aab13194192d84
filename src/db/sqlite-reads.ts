import type { Kysely } from 'kysely';
import type { Database, Tx } from './types.js';

interface Statement {
  run(): unknown;
}

/**
 * Read units on SQLite's one reader connection, one at a time (each holds a
 * BEGIN … COMMIT snapshot of committed data), without Kysely's per-unit
 * connection machinery: a lock, a Kysely bound to the connection and two
 * objects built for every read. The bound Kysely is made once and reused;
 * the order of units is first come, first served, as with Kysely's lock.
 * Other users of the reader (ping, migration status) may run a query inside
 * a unit's snapshot: the connection is read-only, so that is harmless.
 */
export class SqliteReadUnits {
  readonly #reader: Kysely<Database>;
  readonly #begin: Statement;
  readonly #commit: Statement;
  readonly #inTransaction: () => boolean;
  #bound: Tx | undefined;
  #busy = false;
  readonly #waiting: Array<() => void> = [];

  constructor(reader: Kysely<Database>, begin: Statement, commit: Statement, inTransaction: () => boolean) {
    this.#reader = reader;
    this.#begin = begin;
    this.#commit = commit;
    this.#inTransaction = inTransaction;
  }

  async run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.#busy) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#busy = true;
    try {
      const tx = this.#bound ?? (await this.#bind());
      this.#begin.run();
      try {
        return await fn(tx);
      } finally {
        if (this.#inTransaction()) this.#commit.run();
      }
    } finally {
      // Hand the connection straight to the next unit, or mark it free.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#busy = false;
    }
  }

  async #bind(): Promise<Tx> {
    // A Kysely bound to the reader's single connection stays usable after the callback returns.
    this.#bound = await this.#reader.connection().execute(async (conn) => conn);
    return this.#bound;
  }
}
