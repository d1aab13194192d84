import { CompiledQuery, type Insertable } from 'kysely';
import type { Database, Tx } from './types.js';
import { writeScope } from './write-tracker.js';

/**
 * A single-row INSERT into `table` with exactly `columns` whose SQL is
 * compiled once per dialect and then reused with each row's values: building
 * and compiling a Kysely query (and walking it through the plugins) costs
 * more than SQLite takes to run it, on paths that run once per request.
 *
 * The first call per dialect goes through Kysely in full, so the tenant guard
 * sees the statement (the column set never changes after that); the text is
 * kept only if Kysely's parameters are exactly the row's values in `columns`
 * order. Reused executions still tell the write tracker which table they wrote.
 */
export function reusableInsert<T extends keyof Database & string>(
  table: T,
  columns: ReadonlyArray<keyof Insertable<Database[T]> & string>,
): (tx: Tx, row: Insertable<Database[T]>) => Promise<void> {
  const texts = new WeakMap<object, string>();
  const known = new Set<string>(columns);
  return async (tx, row) => {
    const values = row as Record<string, unknown>;
    for (const k in values) if (!known.has(k)) throw new Error(`reusableInsert(${table}): column ${k} is not in its list`);
    const params = columns.map((c) => values[c] ?? null);
    const dialect = tx.getExecutor().adapter.constructor;
    const text = texts.get(dialect);
    if (text !== undefined) {
      writeScope.getStore()?.touched.push({ table });
      await tx.executeQuery(CompiledQuery.raw(text, params));
      return;
    }
    const normalised = Object.fromEntries(columns.map((c, i) => [c, params[i]])) as Insertable<Database[T]>;
    // Kysely's generics cannot follow a table name held in a type parameter.
    const query = (tx as unknown as Tx).insertInto(table as never).values(normalised as never);
    const compiled = query.compile();
    if (compiled.parameters.length === params.length && params.every((v, i) => v === compiled.parameters[i])) texts.set(dialect, compiled.sql);
    await tx.executeQuery(compiled);
  };
}
