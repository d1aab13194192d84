/**
 * Reading the audit log: entries (filtered, paged), the latest checkpoint,
 * inclusion and consistency proofs. Every call is authorised (`audit:read`)
 * before it reads and leaves one `audit.read` event (references only: the
 * filters and how much was returned); a refused call leaves a security event.
 * Nothing here writes, changes or deletes entries.
 */
import type { Guard, Scope } from '../access/index.js';
import type { Db, Tx } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import { createError, isCustosError } from '../shared/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../shared/pagination.js';
import { ACTIVITY, OCSF, type JsonValue } from './events.js';
import { auditLogError } from './errors.js';
import { consistencyProof, inclusionProof, openCheckpoint, readNodes, type NoteVerifier } from './log/index.js';
import type { AuditRecorder } from './outbox/recorder.js';
import { checkpointAt, latestCheckpoint, listEntries, nodeReader, treeSize, type EntryFilter, type EntryRow } from './store.js';
import type { AuditCheckpoint, AuditEntry, ConsistencyProof, EntryQuery, InclusionProof } from './types.js';

export interface AuditReadService {
  listEntries(ctx: RequestContext, query: EntryQuery): Promise<Page<AuditEntry>>;
  latestCheckpoint(ctx: RequestContext): Promise<AuditCheckpoint>;
  inclusionProof(ctx: RequestContext, index: number, size?: number): Promise<InclusionProof>;
  consistencyProof(ctx: RequestContext, from: number, to?: number): Promise<ConsistencyProof>;
}

export interface AuditReadDeps {
  db: Db;
  guard: Guard;
  audit: AuditRecorder;
  origin: string;
  /** Every key the log was signed with, as C2SP verifier keys and verifiers. */
  keys: () => Promise<ReadonlyArray<{ verifierKey: string; verifier: NoteVerifier }>>;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export function toAuditEntry(row: EntryRow): AuditEntry {
  return {
    index: Number(row.idx),
    eventId: row.event_id,
    recordedAt: row.recorded_at,
    tenantId: row.tenant_id,
    classUid: row.class_uid,
    activityId: row.activity_id,
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id },
    target: row.target_type !== null && row.target_id !== null ? { type: row.target_type, id: row.target_id } : null,
    outcome: row.outcome,
    leafHash: b64(row.leaf_hash),
    event: JSON.parse(row.event) as Record<string, unknown>,
  };
}

function filterOf(q: EntryQuery): EntryFilter {
  const iso = (s: string | undefined) => (s === undefined ? undefined : new Date(s).toISOString());
  const filter: EntryFilter = {
    from: iso(q.from),
    to: iso(q.to),
    actorId: q.actor,
    actorType: q.actorType,
    classUid: q.class,
    outcome: q.outcome,
    tenantId: q.tenant,
    targetId: q.target,
    targetType: q.targetType,
    action: q.action,
  };
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    throw auditLogError('QUERY_INVALID', '`from` must be earlier than `to`');
  }
  return filter;
}

const cursorInvalid = () => createError('PAGINATION_CURSOR_INVALID', 'the cursor was not issued for this listing', 400);

function readCursor(cursor: string | undefined, order: 'asc' | 'desc'): number | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(asc|desc):(\d{1,16})$/.exec(decodeCursor(cursor, cursorInvalid));
  if (!m || m[1] !== order) throw cursorInvalid();
  return Number(m[2]);
}

/** The read event's details: which filters were used (ids and enums only, never event contents). */
function readDetails(q: EntryQuery): Record<string, JsonValue> {
  const used: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== 'cursor') used[k] = v as JsonValue;
  return used;
}

/** Authorises `audit:read`; a refusal (403) leaves an `audit.read_denied` security event first. */
async function authorize(deps: AuditReadDeps, ctx: RequestContext, scope: Scope, what: string): Promise<void> {
  try {
    await deps.guard.assert(ctx, 'audit:read', scope);
  } catch (e) {
    if (isCustosError(e) && e.code === 'ACCESS_DENIED') {
      await deps.audit.recordAlone(ctx, {
        classUid: OCSF.API_ACTIVITY,
        activityId: ACTIVITY.READ,
        action: 'audit.read_denied',
        kind: 'security',
        outcome: 'failure',
        severity: 'medium',
        tenantId: scope.tenantId ?? null,
        target: { type: 'audit_log', id: what },
      });
    }
    throw e;
  }
}

/** The one event a successful read leaves: what was read, never what it contained. */
function recordRead(deps: AuditReadDeps, ctx: RequestContext, what: string, tenantId: string | null, details: Record<string, JsonValue>) {
  return deps.audit.recordAlone(ctx, {
    classUid: OCSF.API_ACTIVITY,
    activityId: ACTIVITY.READ,
    action: 'audit.read',
    kind: 'access',
    outcome: 'success',
    tenantId,
    target: { type: 'audit_log', id: what },
    details,
  });
}

/** The verifier key whose signature the note carries ('' when none of ours). */
async function signedBy(deps: AuditReadDeps, note: string): Promise<string> {
  for (const k of await deps.keys()) {
    try {
      openCheckpoint(note, [k.verifier], deps.origin);
      return k.verifierKey;
    } catch {
      // signed by another version: try the next
    }
  }
  return '';
}

/** The size a proof is asked for: given, else the newest checkpoint's; never beyond the log. */
async function sizeFor(tx: Tx, size: number | undefined): Promise<number> {
  const latest = size === undefined ? await latestCheckpoint(tx) : undefined;
  const chosen = size ?? (latest ? Number(latest.size) : 0);
  const end = await treeSize(tx);
  if (chosen > end) throw auditLogError('QUERY_INVALID', `size ${chosen} is beyond the log (${end} entries)`);
  return chosen;
}

export function createAuditReadService(deps: AuditReadDeps): AuditReadService {
  const { db } = deps;
  return {
    async listEntries(ctx, query) {
      const order = query.order ?? 'desc';
      await authorize(deps, ctx, { tenantId: query.tenant }, 'entries');
      const filter = filterOf(query);
      const after = readCursor(query.cursor, order);
      const rows = await db.read((tx) => listEntries(tx, filter, { after, order, limit: query.limit + 1 }));
      const items = rows.slice(0, query.limit).map(toAuditEntry);
      const last = items[items.length - 1];
      const nextCursor = rows.length > query.limit && last ? encodeCursor(`${order}:${last.index}`) : null;
      await recordRead(deps, ctx, 'entries', query.tenant ?? null, { filters: readDetails(query), returned: items.length });
      return { items, nextCursor };
    },

    async latestCheckpoint(ctx) {
      await authorize(deps, ctx, {}, 'checkpoint');
      const row = await db.read((tx) => latestCheckpoint(tx));
      if (!row) throw auditLogError('CHECKPOINT_NOT_FOUND', 'no checkpoint has been signed yet');
      await recordRead(deps, ctx, 'checkpoint', null, { size: Number(row.size) });
      return {
        origin: deps.origin,
        size: Number(row.size),
        root: b64(row.root),
        note: row.note,
        verifierKey: await signedBy(deps, row.note),
        createdAt: row.created_at,
      };
    },

    async inclusionProof(ctx, index, size) {
      await authorize(deps, ctx, {}, 'inclusion-proof');
      const result = await db.read(async (tx) => {
        const n = await sizeFor(tx, size);
        const reader = nodeReader(tx);
        const proof = await inclusionProof(reader, index, n);
        const [leaf] = await readNodes(reader, [{ level: 0, index }]);
        return { n, leaf: leaf as Buffer, proof, checkpoint: (await checkpointAt(tx, n))?.note ?? null };
      });
      await recordRead(deps, ctx, 'inclusion-proof', null, { index, size: result.n });
      return { index, size: result.n, leafHash: b64(result.leaf), proof: result.proof.map(b64), checkpoint: result.checkpoint };
    },

    async consistencyProof(ctx, from, to) {
      await authorize(deps, ctx, {}, 'consistency-proof');
      const result = await db.read(async (tx) => {
        const n = await sizeFor(tx, to);
        const proof = await consistencyProof(nodeReader(tx), from, n);
        return { n, proof, fromCp: (await checkpointAt(tx, from))?.note ?? null, toCp: (await checkpointAt(tx, n))?.note ?? null };
      });
      await recordRead(deps, ctx, 'consistency-proof', null, { from, to: result.n });
      return { from, to: result.n, proof: result.proof.map(b64), fromCheckpoint: result.fromCp, toCheckpoint: result.toCp };
    },
  };
}
