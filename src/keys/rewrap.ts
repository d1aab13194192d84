import { setTimeout as sleep } from 'node:timers/promises';
import { ACTIVITY, OCSF } from '../audit/index.js';
import { unwrapKey, wrapKey, wrappedKeyInfo } from '../crypto/index.js';
import type { RequestContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { KeyringCore } from './keyring.js';
import { kekWrapContext, rootWrapAad, versionInfo } from './material.js';
import * as store from './store.js';
import { kekSeries, ROOT, type RewrapProgress } from './types.js';

/** How a rewrap run proceeds. */
export interface RewrapOptions {
  /** Keys re-wrapped per key-store transaction (default 50). */
  batchSize?: number;
  /** Pause between batches, to spare an HSM or a KMS request quota (default 0). */
  paceMs?: number;
  onProgress?: (p: RewrapProgress) => void;
}

export interface RewrapResult {
  jobId: string;
  scope: 'root' | 'tenant';
  owner: string;
  rewrapped: number;
  /** Keys destroyed (or gone) while the job ran. */
  skipped: number;
}

function auditJob(core: KeyringCore, ctx: RequestContext, job: store.JobRow, phase: 'start' | 'resume' | 'finish', extra: Record<string, number> = {}) {
  return (tx: Parameters<typeof core.audit.record>[0]) =>
    core.audit.record(tx, ctx, {
      classUid: OCSF.ENTITY_MANAGEMENT,
      activityId: ACTIVITY.UPDATE,
      action: `key.rewrap.${phase}`,
      kind: 'change',
      outcome: 'success',
      tenantId: job.scope === 'tenant' ? job.owner : null,
      target: { type: 'rewrap_job', id: job.id },
      details: { scope: job.scope, target: job.target, total: job.total, done: job.done, ...extra },
    });
}

/** Creates a durable rewrap job (and audits its start) unless nothing needs moving. */
export async function startJob(core: KeyringCore, ctx: RequestContext, sel: store.RewrapSelector): Promise<store.JobRow | null> {
  return core.db.write(async (tx) => {
    const k = store.keyStore(tx, core.schema);
    const total = await store.countRewrap(k, sel);
    if (total === 0) return null;
    const now = core.clock.now().toISOString();
    const job: store.JobRow = { id: newId(), ...sel, state: 'running', total, done: 0, cursor: null, started_at: now, updated_at: now, finished_at: null };
    await store.insertJob(k, job);
    await auditJob(core, ctx, job, 'start')(tx);
    return job;
  });
}

/** Re-wraps one key under the job's target; null when it can no longer be read (destroyed meanwhile). */
async function rewrapOne(core: KeyringCore, job: store.JobRow, row: store.VersionRow) {
  const info = versionInfo(row);
  const old = Buffer.from(row.wrapped as Uint8Array);
  try {
    if (job.scope === 'root') {
      const root = await core.root();
      const dk = await root.unwrap(old, rootWrapAad(info));
      const wrapped = await root.wrap(dk, rootWrapAad(info));
      dk.fill(0);
      const version = wrappedKeyInfo(wrapped).version;
      if (version < Number(job.target)) throw new Error(`root key provider is at version ${version}, the job needs ${job.target}`);
      return { wrapped, root_version: version, parent_id: null };
    }
    const oldKek = await core.material(row.parent_id as string);
    const dk = unwrapKey(oldKek.prepared, old, kekWrapContext(info));
    try {
      const kek = await core.sealing(kekSeries(row.owner));
      const wrapped = wrapKey(kek.prepared, dk, kekWrapContext({ ...info, parentId: kek.info.id }));
      return { wrapped, root_version: null, parent_id: kek.info.id };
    } finally {
      dk.fill(0);
    }
  } catch (e) {
    if (isCustosError(e) && (e.code === 'KEY_DESTROYED' || e.code === 'KEY_NOT_FOUND')) return null;
    throw e;
  }
}

/**
 * Runs (or resumes) a job to the end: batches of keys read after the durable
 * cursor, re-wrapped outside any transaction, then written together with the
 * cursor in one key-store transaction. Killed at any point, the job resumes
 * after its last committed batch; a key already moved no longer matches.
 */
export async function runJob(core: KeyringCore, ctx: RequestContext, initial: store.JobRow, opts: RewrapOptions = {}): Promise<RewrapResult> {
  const batchSize = opts.batchSize ?? 50;
  let job = await retarget(core, initial);
  if (job.done > 0 || job.cursor !== null) await core.db.write(auditJob(core, ctx, job, 'resume'));
  let rewrapped = 0;
  let skipped = 0;
  opts.onProgress?.({ jobId: job.id, scope: job.scope, owner: job.owner, done: job.done, total: job.total });
  for (;;) {
    const batch = await core.db.read((tx) => store.nextRewrapBatch(store.keyStore(tx, core.schema), job, job.cursor, batchSize));
    if (batch.length === 0) break;
    const moved: Array<{ row: store.VersionRow; next: Awaited<ReturnType<typeof rewrapOne>> }> = [];
    for (const row of batch) moved.push({ row, next: await rewrapOne(core, job, row) });
    const last = batch[batch.length - 1] as store.VersionRow;
    job = await core.db.write(async (tx) => {
      const k = store.keyStore(tx, core.schema);
      let n = 0;
      for (const { row, next } of moved) {
        if (next && (await store.replaceWrapped(k, row.id, row.wrapped as Uint8Array, next))) n += 1;
        else skipped += 1;
      }
      rewrapped += n;
      const patch = { done: job.done + batch.length, cursor: last.id, total: Math.max(job.total, job.done + batch.length), updated_at: core.clock.now().toISOString() };
      await store.advanceJob(k, job.id, patch);
      return { ...job, ...patch };
    });
    opts.onProgress?.({ jobId: job.id, scope: job.scope, owner: job.owner, done: job.done, total: job.total });
    if (opts.paceMs) await sleep(opts.paceMs);
  }
  await core.db.write(async (tx) => {
    const now = core.clock.now().toISOString();
    await store.advanceJob(store.keyStore(tx, core.schema), job.id, { state: 'done', finished_at: now, updated_at: now });
    await auditJob(core, ctx, job, 'finish', { rewrapped, skipped })(tx);
  });
  return { jobId: job.id, scope: job.scope, owner: job.owner, rewrapped, skipped };
}

/** A tenant job whose KEK was rotated again moves to the newest KEK. */
async function retarget(core: KeyringCore, job: store.JobRow): Promise<store.JobRow> {
  if (job.scope !== 'tenant') return job;
  const kek = await core.current(kekSeries(job.owner), false);
  if (kek.info.id === job.target) return job;
  await core.db.write((tx) =>
    store.advanceJob(store.keyStore(tx, core.schema), job.id, { target: kek.info.id, updated_at: core.clock.now().toISOString() }),
  );
  return { ...job, target: kek.info.id };
}

/** Jobs to run now: the unfinished ones, else new ones for whatever still sits under an old root version or an old KEK. */
export async function pendingJobs(core: KeyringCore, ctx: RequestContext): Promise<store.JobRow[]> {
  const running = await core.db.read((tx) => store.runningJobs(store.keyStore(tx, core.schema)));
  if (running.length > 0) return running;
  const jobs: store.JobRow[] = [];
  const rootVersion = (await core.root()).describe().keyVersion;
  const rootJob = await startJob(core, ctx, { scope: 'root', owner: ROOT, target: String(rootVersion) });
  if (rootJob) jobs.push(rootJob);
  const owners = await core.db.read((tx) => store.ownersWithWrappedChildren(store.keyStore(tx, core.schema)));
  for (const owner of owners) {
    const kek = await core.current(kekSeries(owner), false).catch(() => null);
    if (kek === null) continue;
    const job = await startJob(core, ctx, { scope: 'tenant', owner, target: kek.info.id });
    if (job) jobs.push(job);
  }
  return jobs;
}
