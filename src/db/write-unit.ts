import { AsyncLocalStorage } from 'node:async_hooks';
import { createError } from '../shared/errors.js';
import type { Tx } from './types.js';
import { UnitWrites, type TouchedTable } from './write-tracker.js';

export type WriteListener = (touched: readonly TouchedTable[]) => void;

/**
 * Marks the async context of a running write unit, for one purpose: refusing
 * db.write inside a unit, which would wait for the batch it is part of (a
 * deadlock on SQLite; on PostgreSQL a second transaction that commits apart
 * from the first). Only AsyncLocalStorage follows every path a unit's code
 * may take (awaits, returned promises, .then, timers); V8's async stack
 * misses `return promise` chains. Written tables no longer ride on it: each
 * unit's Tx carries its own tracker, so no query asks for the store.
 */
const insideUnit = new AsyncLocalStorage<true>();

/**
 * Runs `fn` as a write unit: refused inside another unit (DB_NESTED_WRITE),
 * handed a Tx that notes what it writes, and `listeners` hear of those
 * writes once `run` settles (for a group-committed unit: after the shared
 * COMMIT). `run` starts the transaction and calls the unit with its Tx.
 */
export async function trackedWrite<T>(
  listeners: ReadonlySet<WriteListener>,
  fn: (tx: Tx) => Promise<T>,
  run: (unit: (tx: Tx) => Promise<T>) => Promise<T>,
): Promise<T> {
  if (insideUnit.getStore()) {
    throw createError('DB_NESTED_WRITE', 'db.write called inside a unit of work; pass the tx instead', 500);
  }
  const writes = new UnitWrites();
  try {
    return await run((tx) => insideUnit.run(true, fn, tx.withPlugin(writes)));
  } finally {
    if (writes.touched.length) for (const l of listeners) l(writes.touched);
  }
}
