/**
 * The sequenced log as the forwarders read it (audit/forward LogSource):
 * entries by index with their stored canonical text and leaf hash, the
 * newest index and the newest signed checkpoint. Read-only.
 */
import type { Db } from '../db/index.js';
import type { LogCheckpoint, LogEntry, LogSource } from './forward/types.js';
import { entryPage, latestCheckpoint, treeSize } from './store.js';

export function createLogSource(db: Db): LogSource {
  return {
    async entriesAfter(index: number, limit: number): Promise<LogEntry[]> {
      const from = Math.max(index + 1, 0);
      const rows = await db.read((tx) => entryPage(tx, from, Number.MAX_SAFE_INTEGER, limit));
      return rows.map((r) => ({ index: Number(r.idx), eventJson: r.event, leafHash: Buffer.from(r.leaf_hash).toString('base64') }));
    },
    async latestIndex(): Promise<number> {
      return (await db.read((tx) => treeSize(tx))) - 1;
    },
    async latestCheckpoint(): Promise<LogCheckpoint | undefined> {
      const row = await db.read((tx) => latestCheckpoint(tx));
      return row ? { size: Number(row.size), note: row.note } : undefined;
    },
  };
}
