/**
 * Durable forwarder cursors in `audit_forwarder_cursors` (migration
 * 0005-audit-forwarders). The only file of audit/forward that queries the
 * database.
 */
import type { ExpressionBuilder, OnConflictDatabase, OnConflictTables } from 'kysely';
import type { Database, Db } from '../../db/index.js';
import type { Clock } from '../../shared/clock.js';
import type { Cursor, CursorStore } from './types.js';

type Column = 'next_index' | 'checkpoint_size';

function larger(eb: ExpressionBuilder<OnConflictDatabase<Database, 'audit_forwarder_cursors'>, OnConflictTables<'audit_forwarder_cursors'>>, col: Column) {
  const stored = eb.ref(`audit_forwarder_cursors.${col}`);
  const offered = eb.ref(`excluded.${col}`);
  return eb.case().when(offered, '>', stored).then(offered).else(stored).end();
}

/** Cursors in the database; `advance` is an upsert that never moves a cursor backwards. */
export function createCursorStore(db: Db, clock: Clock): CursorStore {
  return {
    async get(name) {
      const row = await db.read((tx) =>
        tx
          .selectFrom('audit_forwarder_cursors')
          .select(['next_index', 'checkpoint_size'])
          .where('name', '=', name)
          .executeTakeFirst(),
      );
      return row ? { nextIndex: Number(row.next_index), checkpointSize: Number(row.checkpoint_size) } : undefined;
    },
    async advance(name: string, cursor: Cursor) {
      const updatedAt = clock.now().toISOString();
      await db.write((tx) =>
        tx
          .insertInto('audit_forwarder_cursors')
          .values({ name, next_index: cursor.nextIndex, checkpoint_size: cursor.checkpointSize, updated_at: updatedAt })
          .onConflict((oc) =>
            oc.column('name').doUpdateSet((eb) => ({
              // Monotonic even if two writers race: keep the larger of stored and offered (CASE: portable).
              next_index: larger(eb, 'next_index'),
              checkpoint_size: larger(eb, 'checkpoint_size'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute(),
      );
    },
  };
}
