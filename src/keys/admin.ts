import type { Guard } from '../access/index.js';
import type { IdempotencyService } from '../idempotency/index.js';
import { ACTIVITY, OCSF } from '../audit/index.js';
import { actorRef, type RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { keyErrors } from './errors.js';
import type { KeyringCore } from './keyring.js';
import { pendingJobs, runJob, startJob, type RewrapOptions, type RewrapResult } from './rewrap.js';
import { retireUnused, type RetireResult } from './retire.js';
import { keyStatus } from './status.js';
import * as store from './store.js';
import { AUDIT_SIGNING, kekSeries, PLATFORM_DEK, ROOT, ROOT_SERIES, type KeyStatus, type LedgerEntry, type SeriesRef } from './types.js';

/**
 * Key management: rotation, rewrap, status, retirement and
 * crypto-shredding. Every operation is authorised first (`keys:manage`,
 * `keys:read` for status and the ledger) and audited inside its unit of work.
 */
export interface KeyAdmin {
  /** New root key version; returns the rewrap job that moves every root-wrapped key to it. */
  rotateRoot(ctx: RequestContext): Promise<{ version: number; jobId: string | null }>;
  /** New platform DEK version (old versions decrypt only). */
  rotatePlatform(ctx: RequestContext): Promise<{ keyId: string; version: number }>;
  /** New audit checkpoint signing key version (publish its public key to witnesses). */
  rotateAuditSigning(ctx: RequestContext): Promise<{ keyId: string; version: number }>;
  /** New KEK version for the tenant; returns the rewrap job that moves the tenant's keys under it. */
  rotateTenant(ctx: RequestContext, tenantId: string): Promise<{ keyId: string; version: number; jobId: string | null }>;
  /** Runs unfinished rewrap jobs, or starts them for whatever sits under an old root version or KEK. */
  rewrap(ctx: RequestContext, opts?: RewrapOptions): Promise<RewrapResult[]>;
  status(ctx: RequestContext, tenantId?: string): Promise<KeyStatus>;
  /** Raises minimum decryption versions past every root and KEK version nothing depends on; wipes those KEKs. */
  retire(ctx: RequestContext): Promise<RetireResult>;
  /** Crypto-shreds a subject's DEK or (no subjectId) a tenant's KEK and everything under it. */
  destroy(ctx: RequestContext, input: { tenantId: string; subjectId?: string | undefined; reason: string }): Promise<LedgerEntry>;
  ledger(ctx: RequestContext, tenantId?: string): Promise<LedgerEntry[]>;
}

function toEntry(r: store.LedgerRow): LedgerEntry {
  return {
    id: r.id,
    erasedAt: r.erased_at,
    scope: r.scope,
    tenantId: r.tenant_id,
    subjectId: r.subject_id,
    keyIds: JSON.parse(r.key_ids) as string[],
    reason: r.reason,
    actor: r.actor,
    requestId: r.request_id,
  };
}

function checkReason(reason: unknown): string {
  const r = typeof reason === 'string' ? reason.trim() : '';
  if (r.length === 0 || r.length > 500) throw keyErrors.reasonRequired();
  return r;
}

export function createKeyAdmin(deps: { core: KeyringCore; guard: Guard; idempotency?: IdempotencyService }): KeyAdmin {
  const { core, guard, idempotency } = deps;
  const ks = (tx: Parameters<typeof store.keyStore>[0]) => store.keyStore(tx, core.schema);

  async function noRunningJob(scope: 'root' | 'tenant', owner: string): Promise<void> {
    const running = await core.db.read((tx) => store.runningJobs(ks(tx)));
    if (running.some((j) => j.scope === scope && j.owner === owner)) throw keyErrors.rewrapRunning(scope === 'root' ? 'the root key' : `tenant ${owner}`);
  }

  async function rotateSeries(ctx: RequestContext, s: SeriesRef): Promise<{ keyId: string; version: number }> {
    const cur = await core.current(s, true, ctx);
    const made = await core.createVersion(s, cur.info.version + 1, ctx, { previous: cur.info, reason: 'rotation' });
    if (!made) throw keyErrors.rotateConflict(`${s.purpose} of ${s.owner}`);
    return { keyId: made.info.id, version: made.info.version };
  }

  return {
    async rotateRoot(ctx) {
      await guard.assert(ctx, 'keys:manage', {});
      await noRunningJob('root', ROOT);
      const root = await core.root();
      const from = root.describe().keyVersion;
      await root.rotate();
      const version = root.describe().keyVersion;
      await core.db.write(async (tx) => {
        const now = core.clock.now().toISOString();
        await store.advanceSeries(ks(tx), ROOT_SERIES, from, version, now);
        await store.bumpGeneration(ks(tx));
        await core.audit.record(tx, ctx, {
          classUid: OCSF.ENTITY_MANAGEMENT,
          activityId: ACTIVITY.UPDATE,
          action: 'key.rotate',
          kind: 'change',
          outcome: 'success',
          target: { type: 'root_key', id: `${root.kind}/v${version}` },
          details: { purpose: 'root', from, version, provider: root.kind },
        });
      });
      core.touched();
      const job = await startJob(core, ctx, { scope: 'root', owner: ROOT, target: String(version) });
      return { version, jobId: job?.id ?? null };
    },

    async rotatePlatform(ctx) {
      await guard.assert(ctx, 'keys:manage', {});
      return rotateSeries(ctx, PLATFORM_DEK);
    },

    async rotateAuditSigning(ctx) {
      await guard.assert(ctx, 'keys:manage', {});
      return rotateSeries(ctx, AUDIT_SIGNING);
    },

    async rotateTenant(ctx, tenantId) {
      await guard.assert(ctx, 'keys:manage', { tenantId });
      await noRunningJob('tenant', tenantId);
      const made = await rotateSeries(ctx, kekSeries(tenantId));
      const job = await startJob(core, ctx, { scope: 'tenant', owner: tenantId, target: made.keyId });
      return { ...made, jobId: job?.id ?? null };
    },

    async rewrap(ctx, opts = {}) {
      await guard.assert(ctx, 'keys:manage', {});
      const out: RewrapResult[] = [];
      for (const job of await pendingJobs(core, ctx)) out.push(await runJob(core, ctx, job, opts));
      return out;
    },

    async status(ctx, tenantId) {
      await guard.assert(ctx, 'keys:read', tenantId ? { tenantId } : {});
      return keyStatus(core, tenantId ?? null);
    },

    async retire(ctx) {
      await guard.assert(ctx, 'keys:manage', {});
      return retireUnused(core, ctx);
    },

    async destroy(ctx, input) {
      const reason = checkReason(input.reason);
      await guard.assert(ctx, 'keys:manage', { tenantId: input.tenantId });
      // Irreversible: a user must have proved a second factor recently (step-up).
      guard.requireRecentMfa(ctx);
      const entry = await core.db.write(async (tx) => {
        const e = await destroyInTx(core, tx, ctx, { ...input, reason });
        await idempotency?.remember(tx, ctx, 201, e);
        return e;
      });
      const subjectId = input.subjectId;
      core.invalidate((i) => i.owner === input.tenantId && (!subjectId || (i.purpose === 'subject-dek' && i.ref === subjectId)));
      core.touched();
      return entry;
    },

    async ledger(ctx, tenantId) {
      await guard.assert(ctx, 'keys:read', tenantId ? { tenantId } : {});
      const rows = await core.db.read((tx) => store.listLedger(ks(tx), tenantId ?? null, 10_000));
      return rows.map(toEntry);
    },
  };
}

/** The crypto-shredding unit: wipe the keys, tombstone the series, write the ledger entry and the audit event. */
async function destroyInTx(
  core: KeyringCore,
  tx: Parameters<typeof store.keyStore>[0],
  ctx: RequestContext,
  input: { tenantId: string; subjectId?: string | undefined; reason: string },
): Promise<LedgerEntry> {
  const k = store.keyStore(tx, core.schema);
  const now = core.clock.now().toISOString();
  const scope = input.subjectId ? 'subject' : 'tenant';
  // A tombstone series refuses any later key for this subject (or tenant): erased stays erased.
  const tomb: SeriesRef = input.subjectId ? { owner: input.tenantId, purpose: 'subject-dek', ref: input.subjectId } : kekSeries(input.tenantId);
  if ((await store.findSeries(k, tomb))?.destroyed_at) throw keyErrors.alreadyDestroyed(scope === 'subject' ? `subject ${input.subjectId}` : `tenant ${input.tenantId}`);
  await store.insertSeries(k, { ...tomb, current_version: 0, min_version: 1, created_at: now, updated_at: now, destroyed_at: now });
  const keyIds = await store.destroyKeys(k, input.tenantId, input.subjectId ? tomb : null, now);
  await store.bumpGeneration(k);
  const row: store.LedgerRow = {
    id: newId(),
    erased_at: now,
    scope,
    tenant_id: input.tenantId,
    subject_id: input.subjectId ?? null,
    key_ids: JSON.stringify(keyIds),
    reason: input.reason,
    actor: `${actorRef(ctx.actor).type}:${actorRef(ctx.actor).id}`,
    request_id: ctx.requestId,
  };
  await store.insertLedger(k, row);
  await core.audit.record(tx, ctx, {
    classUid: OCSF.ENTITY_MANAGEMENT,
    activityId: ACTIVITY.DELETE,
    action: 'key.destroy',
    kind: 'change',
    outcome: 'success',
    severity: 'high',
    tenantId: input.tenantId,
    target: { type: scope, id: input.subjectId ?? input.tenantId },
    details: { scope, ledgerId: row.id, keyIds, reason: input.reason },
  });
  return toEntry(row);
}
