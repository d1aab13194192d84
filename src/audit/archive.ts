/**
 * Archiving: entries older than the retention leave the database only
 * through an archive bundle. The bundle is written, re-read and verified
 * first; only then, in one transaction, are the leaf hashes of the range kept
 * as level-0 nodes, the new prune floor recorded (with the bundle's SHA-256)
 * and the entries below it deleted, with an `audit.archive` event. Nodes and
 * checkpoints stay, so the remaining log verifies from the floor on
 * (verify/pruned.ts); no history is rewritten.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { writeArchive } from './bundle/write.js';
import { verifyBundle } from './bundle/verify.js';
import { auditLogError } from './errors.js';
import { ACTIVITY, OCSF } from './events.js';
import type { NoteVerifier } from './log/index.js';
import type { AuditRecorder } from './outbox/recorder.js';
import { retentionCutoff } from './retention.js';
import { firstIndexAtOrAfter, latestCheckpoint, pruneFloor } from './store.js';

export interface ArchiveDeps {
  db: Db;
  audit: AuditRecorder;
  clock: Clock;
  origin: string;
  /** Every trusted log key (the archive is verified against them before anything is pruned). */
  verifiers: readonly NoteVerifier[];
  verifierKeyFor: (note: string) => string;
  retentionDays: number;
}

export type ArchiveResult =
  | { done: false; archived: 0; floor: number }
  | { done: true; archived: number; floor: number; from: number; sha256: string; deleted: number };

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Archives every entry recorded before `before` (which must be at least the
 * retention old) into `out`, then prunes them. Returns what was done.
 */
export async function archiveAndPrune(deps: ArchiveDeps, ctx: RequestContext, before: Date, out: string): Promise<ArchiveResult> {
  const { db, clock } = deps;
  const latestAllowed = retentionCutoff(deps.retentionDays, clock);
  if (before.getTime() > latestAllowed.getTime()) {
    throw auditLogError('RETENTION_NOT_REACHED', `--before must be on or before ${latestAllowed.toISOString()} (retention ${deps.retentionDays} days)`);
  }
  const cutoff = before.toISOString();
  const { floor, size } = await db.read(async (tx) => ({ floor: await pruneFloor(tx), size: Number((await latestCheckpoint(tx))?.size ?? 0) }));
  const end = await db.read((tx) => firstIndexAtOrAfter(tx, floor, size, cutoff));
  if (end <= floor) return { done: false, archived: 0, floor };
  const now = clock.now();
  const written = await writeArchive(
    { db, origin: deps.origin, verifierKeyFor: deps.verifierKeyFor, now },
    { start: floor, end, cutoff, retentionDays: deps.retentionDays, out },
  );
  const verdict = await verifyBundle(out, deps.verifiers);
  const sha256 = await fileSha256(out);
  if (!verdict.ok || sha256 !== written.sha256) {
    throw auditLogError('LOG_INCONSISTENT', `the archive written to ${out} does not verify; nothing was pruned`);
  }
  const deleted = await db.write(async (tx) => {
    const n = await db.adapter.audit.prune(tx, { floor: end, before: cutoff, retentionDays: deps.retentionDays, archiveSha256: sha256, createdAt: now.toISOString() });
    await deps.audit.record(tx, ctx, {
      classUid: OCSF.DATASTORE_ACTIVITY,
      activityId: ACTIVITY.DELETE,
      action: 'audit.archive',
      kind: 'change',
      outcome: 'success',
      target: { type: 'audit_log', id: deps.origin },
      details: { from: floor, to: end, deleted: n, archiveSha256: sha256, cutoff },
    });
    return n;
  });
  return { done: true, archived: written.count, floor: end, from: floor, sha256, deleted };
}
