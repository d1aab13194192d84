import type { Guard } from '../../access/index.js';
import { type AuditEventInput, type AuditRecorder, type Severity } from '../../audit/index.js';
import type { Db, Tx } from '../../db/index.js';
import type { IdempotencyService } from '../../idempotency/index.js';
import type { Clock } from '../../shared/clock.js';
import type { RequestContext } from '../../shared/context.js';
import type { TenantService } from '../../tenants/index.js';
import { normalizeJson } from './normalize.js';
import type { JsonObject, NormalizedEvent } from './types.js';

/** The action every ingested event is stored under; its own categorisation is in `unmapped.source`. */
export const EXTERNAL_ACTION = 'external.event';

export type ItemResult = { index: number; status: 'accepted'; eventId: string } | { index: number; status: 'rejected'; code: string; detail: string };

export interface IngestResult {
  accepted: number;
  rejected: number;
  items: ItemResult[];
}

export interface IngestService {
  /**
   * `POST /api/v1/events`: each item is validated on its own; the accepted
   * ones are recorded in one unit of work (with the idempotent reply), the
   * rejected ones answer with their index, code and reason.
   */
  ingestBatch(ctx: RequestContext, items: readonly unknown[]): Promise<{ status: 200 | 207; body: IngestResult; replayed: boolean }>;
  /** Records events a listener has already parsed (syslog), for the listener's tenant (null: platform). */
  recordNormalized(ctx: RequestContext, tenantId: string | null, events: readonly NormalizedEvent[], via: string): Promise<string[]>;
}

export interface IngestDeps {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  idempotency: IdempotencyService;
  clock: Clock;
  tenants: Pick<TenantService, 'requireActive'>;
}

const SEVERITY: Record<number, Severity> = { 1: 'informational', 2: 'low', 3: 'medium', 4: 'high', 5: 'critical', 6: 'critical' };

/** The stored event: the source's class and activity, Custos's envelope, the summary and the original under `unmapped`. */
export function toAuditInput(event: NormalizedEvent, tenantId: string | null, via: string): AuditEventInput {
  const s = event.summary;
  const changes = s.type.some((t) => t === 'change' || t === 'creation' || t === 'deletion') || s.category.includes('configuration');
  const severity = s.severity_id === undefined ? undefined : SEVERITY[s.severity_id];
  return {
    classUid: s.class_uid,
    activityId: s.activity_id,
    action: EXTERNAL_ACTION,
    kind: s.category.includes('authentication') ? 'auth' : changes ? 'change' : 'security',
    outcome: s.outcome === 'failure' ? 'failure' : 'success',
    ...(severity ? { severity } : {}),
    tenantId,
    details: { ingest: { via, format: s.format }, source: { ...s } as unknown as JsonObject, original: event.original },
  };
}

/** The tenant an ingesting caller writes into: an API key's or a member's tenant; platform staff write platform events. */
function callerTenant(ctx: RequestContext): string | null {
  const a = ctx.actor;
  if (a.type === 'api_key') return a.tenantId;
  if (a.type === 'user' && a.tenantId) return a.tenantId;
  return null;
}

export function createIngestService(deps: IngestDeps): IngestService {
  const { db, audit, guard, idempotency, clock, tenants } = deps;
  async function recordAll(tx: Tx, ctx: RequestContext, tenantId: string | null, events: readonly NormalizedEvent[], via: string): Promise<string[]> {
    const ids: string[] = [];
    for (const e of events) {
      const stored = await audit.record(tx, ctx, toAuditInput(e, tenantId, via));
      ids.push(String((stored.metadata as { uid: string }).uid));
    }
    return ids;
  }
  return {
    async ingestBatch(ctx, items) {
      const tenantId = callerTenant(ctx);
      await guard.assert(ctx, 'events:ingest', tenantId ? { tenantId } : {});
      const now = clock.now();
      const results: ItemResult[] = [];
      const good: Array<{ index: number; event: NormalizedEvent }> = [];
      items.forEach((item, index) => {
        const r = normalizeJson(item, now);
        if (r.ok) good.push({ index, event: r.event });
        else results.push({ index, status: 'rejected', ...r.problem });
      });
      const out = await idempotency.execute(ctx, () =>
        db.write(async (tx) => {
          if (tenantId) await tenants.requireActive(tx, tenantId);
          const ids = await recordAll(tx, ctx, tenantId, good.map((g) => g.event), 'api');
          const all = [...results, ...good.map((g, i): ItemResult => ({ index: g.index, status: 'accepted', eventId: ids[i] as string }))];
          all.sort((a, b) => a.index - b.index);
          const body: IngestResult = { accepted: good.length, rejected: results.length, items: all };
          const status = results.length === 0 ? 200 : 207;
          await idempotency.remember(tx, ctx, status, body);
          return { status, body };
        }),
      );
      return { status: out.status as 200 | 207, body: out.body as IngestResult, replayed: out.replayed };
    },
    recordNormalized(ctx, tenantId, events, via) {
      return db.write((tx) => recordAll(tx, ctx, tenantId, events, via));
    },
  };
}

