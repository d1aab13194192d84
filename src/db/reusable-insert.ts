import type { Insertable } from 'kysely';
import { reusableQuery } from './reusable-query.js';
import type { Database, Tx } from './types.js';

/**
 * A single-row INSERT into `table` with exactly `columns`, compiled once per
 * dialect and reused with each row's values (reusable-query.ts). A column
 * left out of a row is bound as NULL; a key outside `columns` is refused
 * rather than silently dropped.
 */
export function reusableInsert<T extends keyof Database & string>(
  table: T,
  columns: ReadonlyArray<keyof Insertable<Database[T]> & string>,
): (tx: Tx, row: Insertable<Database[T]>) => Promise<void> {
  const known = new Set<string>(columns);
  // Kysely's generics cannot follow a table name held in a type parameter.
  const insert = reusableQuery((tx, p: Record<string, unknown>) =>
    (tx as unknown as Tx).insertInto(table as never).values(Object.fromEntries(columns.map((c) => [c, p[c]])) as never),
  );
  return async (tx, row) => {
    const values = row as Record<string, unknown>;
    for (const k in values) if (!known.has(k)) throw new Error(`reusableInsert(${table}): column ${k} is not in its list`);
    const params: Record<string, unknown> = {};
    for (const c of columns) params[c] = values[c] ?? null;
    await insert.execute(tx, params);
  };
}
