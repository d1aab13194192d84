import { randomBytes } from 'node:crypto';
import { ACTIVITY, OCSF } from '../audit/index.js';
import { DEFAULT_USAGE_LIMIT, unwrapKey } from '../crypto/index.js';
import { systemContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { keyErrors } from './errors.js';
import type { KeyringCore } from './keyring.js';
import { isStale, kekWrapContext, KeyMaterial, versionInfo, type VersionInfo } from './material.js';
import * as store from './store.js';
import { kekSeries } from './types.js';
import { wrapUnderKek } from './versions.js';

/** How the subject key pool refills (src/keys/README.md, "Subject key pool"). */
export interface PoolOptions {
  /** Keys made per key-store transaction (default 64). */
  batchSize?: number;
  /** A refill starts in the background when fewer keys than this are left (default 16). */
  lowWater?: number;
}

/** Most ids a tenant's pool remembers as handed out, so releaseSubject can take them back. */
const RELEASABLE = 1024;

interface Entry {
  subjectId: string;
  keyId: string;
  /** The KEK version that wraps the key. */
  parentId: string;
}

class TenantPool {
  /** Ready to hand out, oldest first. */
  ready: Entry[] = [];
  /** The keyring's cache epoch the entries were last known valid at. */
  epoch: number;
  /** The refill (or revalidation) running now: one per tenant. */
  work: Promise<number> | undefined;
  /** Allocations waiting for `work`. */
  waiting = 0;
  /** Handed out since the last batch: their `pooled/` marks are set to 0 with the next batch. */
  handedOut: string[] = [];
  /** Recently handed out, by subject id (releasable). */
  recent = new Map<string, Entry>();

  constructor(epoch: number) {
    this.epoch = epoch;
  }
}

/**
 * A per-tenant pool of subject DEKs made ahead, in batches: each key's series
 * and version are in the key store (wrapped under the tenant's current KEK,
 * with a usage window reserved) and its material is in the key cache, so a
 * record for a new data subject seals without any key-store I/O. Holds ids
 * only, never key material (that stays in the bounded cache).
 */
export class SubjectPool {
  readonly #core: KeyringCore;
  readonly #batch: number;
  readonly #low: number;
  readonly #pools = new Map<string, TenantPool>();
  /** Key-store transactions the pool has run (batches and revalidations), for tests and metrics. */
  writes = 0;

  constructor(core: KeyringCore, opts: PoolOptions = {}) {
    this.#core = core;
    this.#batch = Math.max(1, opts.batchSize ?? 64);
    this.#low = Math.min(this.#batch, Math.max(0, opts.lowWater ?? 16));
  }

  #pool(tenantId: string): TenantPool {
    let p = this.#pools.get(tenantId);
    if (!p) {
      p = new TenantPool(this.#core.epoch);
      this.#pools.set(tenantId, p);
    }
    return p;
  }

  /** How many keys are ready for the tenant (for tests and metrics). */
  size(tenantId: string): number {
    return this.#pools.get(tenantId)?.ready.length ?? 0;
  }

  async allocate(tenantId: string): Promise<string> {
    // Platform keys have no data subjects (sealSeries ignores a subject for them).
    if (tenantId.startsWith('_')) throw keyErrors.misused('-', `subject keys belong to tenants, not ${tenantId}`);
    const core = this.#core;
    const p = this.#pool(tenantId);
    for (let dry = 0; ; ) {
      const f = core.ensureFresh();
      if (f) await f;
      const e = this.#take(p);
      if (e) {
        if (p.ready.length < this.#low) this.#run(p, tenantId).catch(() => undefined);
        return e.subjectId;
      }
      p.waiting += 1;
      let added: number;
      try {
        added = await this.#run(p, tenantId);
      } finally {
        p.waiting -= 1;
      }
      // A round that made or kept nothing (keys invalidated as they were made, again and again): give up.
      if (added === 0 && p.ready.length === 0 && ++dry >= 4) throw keyErrors.rotateConflict(`the subject key pool of ${tenantId}`);
    }
  }

  /** The next valid entry, when the pool may be used as it is (same cache epoch, key still cached). */
  #take(p: TenantPool): Entry | undefined {
    const core = this.#core;
    if (p.epoch !== core.epoch) return undefined;
    const e = p.ready[0];
    if (!e) return undefined;
    if (!core.isCached(e.keyId)) {
      // Evicted or expired from the cache: revalidate (reload and reserve) before handing out.
      p.epoch = -1;
      return undefined;
    }
    p.ready.shift();
    p.handedOut.push(e.subjectId);
    p.recent.set(e.subjectId, e);
    if (p.recent.size > RELEASABLE) p.recent.delete(p.recent.keys().next().value as string);
    return e;
  }

  /** Gives back an id handed out here and not used; ignored for any other id (never reused then). */
  release(tenantId: string, subjectId: string): void {
    const p = this.#pools.get(tenantId);
    const e = p?.recent.get(subjectId);
    if (!p || !e) return;
    p.recent.delete(subjectId);
    // Checked again before it is handed out: the KEK may have rotated since (and a seal in the failed
    // create may have cached the key again under the new epoch), so the pool revalidates every entry
    // against the current KEK first. Releases are rare (a lost race), so one revalidation each is cheap.
    p.ready.unshift(e);
    p.epoch = -1;
  }

  /**
   * Waits for refills under way, records the ids handed out since the last
   * batch (their `pooled/` marks to 0: after a clean stop, a mark still set
   * means never handed out) and drops every pool; the keys left stay in the
   * key store as orphans. Best effort: a failure here loses hints only.
   */
  async close(): Promise<void> {
    const pools = [...this.#pools];
    this.#pools.clear();
    for (const [tenantId, p] of pools) {
      await p.work?.catch(() => undefined);
      const handed = p.handedOut.splice(0);
      if (handed.length === 0) continue;
      const core = this.#core;
      await core.db.write((tx) => store.markHandedOut(store.keyStore(tx, core.schema), tenantId, handed)).catch(() => undefined);
    }
  }

  /** The tenant's single-flight refill; resolves to the number of keys it added or kept. */
  #run(p: TenantPool, tenantId: string): Promise<number> {
    p.work ??= this.#work(p, tenantId).finally(() => {
      p.work = undefined;
    });
    return p.work;
  }

  async #work(p: TenantPool, tenantId: string): Promise<number> {
    let n = 0;
    if (p.epoch !== this.#core.epoch) n += await this.#revalidate(p, tenantId);
    if (p.ready.length < Math.max(this.#low, p.waiting, 1)) {
      const want = Math.min(4 * this.#batch, Math.max(this.#batch, p.waiting + this.#low - p.ready.length));
      n += await this.#fill(p, tenantId, want);
    }
    return n;
  }

  /**
   * After a cache invalidation (a destroy, retire or rotation here or in
   * another process) or an eviction: keeps the entries still wrapped by the
   * tenant's current KEK, reloads those no longer cached (reserving a new
   * usage window for them in one statement), drops the rest (orphans).
   */
  async #revalidate(p: TenantPool, tenantId: string): Promise<number> {
    const core = this.#core;
    const epoch = core.epoch;
    if (p.ready.length === 0) {
      p.epoch = epoch; // nothing to check (and a new tenant may have no KEK yet: the refill makes it)
      return 0;
    }
    let kek: KeyMaterial;
    try {
      kek = await core.current(kekSeries(tenantId), false);
    } catch (e) {
      p.ready = [];
      throw e;
    }
    const entries = p.ready.slice();
    const cold = entries.filter((e) => !core.isCached(e.keyId));
    const rows = new Map<string, store.VersionRow>();
    if (cold.length > 0) {
      this.writes += 1;
      const got = await core.db.write((tx) => store.reserveUsageMany(store.keyStore(tx, core.schema), cold.map((e) => e.keyId), core.block));
      for (const r of got) rows.set(r.id, r);
    }
    if (core.epoch !== epoch) return 0; // invalidated again meanwhile: the next round checks again
    const kept: Entry[] = [];
    for (const e of entries) {
      const row = rows.get(e.keyId);
      if (row) {
        if (row.parent_id !== kek.info.id || row.wrapped === null) continue;
        const info = versionInfo(row);
        const dk = await this.#unwrap(tenantId, kek, info, row.wrapped);
        if (!dk) continue;
        const start = row.usage_reserved - core.block;
        const m = new KeyMaterial(info, dk, start < DEFAULT_USAGE_LIMIT ? [start, Math.min(row.usage_reserved, DEFAULT_USAGE_LIMIT)] : undefined);
        if (!core.adopt(m, epoch)) return 0;
        kept.push({ ...e, parentId: row.parent_id });
      } else if (e.parentId === kek.info.id && core.isCached(e.keyId)) {
        core.pointCurrent({ owner: tenantId, purpose: 'subject-dek', ref: e.subjectId }, e.keyId);
        kept.push(e);
      }
    }
    // Entries released or refilled while this ran are checked by the next round.
    p.ready = [...kept, ...p.ready.filter((e) => !entries.includes(e))];
    if (p.ready.length === kept.length) p.epoch = epoch;
    return kept.length;
  }

  /** Unwraps a pooled key under its KEK, taking the KEK again if the cache dropped it meanwhile (a small cache). */
  async #unwrap(tenantId: string, kek: KeyMaterial, info: VersionInfo, wrapped: Uint8Array): Promise<Buffer | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return unwrapKey(kek.prepared, Buffer.from(wrapped), kekWrapContext(info));
      } catch (e) {
        if (attempt >= 3 || !isStale(e)) throw e;
        const again = await this.#core.current(kekSeries(tenantId), false);
        if (again.info.id !== kek.info.id) return undefined; // rotated meanwhile: an orphan now
        kek = again;
      }
    }
  }

  /** Makes `n` subject keys in one key-store transaction, with one audit event; returns how many joined the pool. */
  async #fill(p: TenantPool, tenantId: string, n: number): Promise<number> {
    const core = this.#core;
    const epoch = core.epoch;
    const at = core.clock.now();
    const now = at.toISOString();
    const made: Array<{ info: VersionInfo; dk: Buffer; wrapped: Buffer }> = [];
    const dks: Buffer[] = [];
    const wipe = () => {
      for (const dk of dks) dk.fill(0);
    };
    const ctx = systemContext('keys.pool');
    const random = randomBytes(32 * n);
    try {
      for (let i = 0; i < n; i++) {
        const dk = Buffer.from(random.subarray(32 * i, 32 * i + 32));
        dks.push(dk);
        const v = { owner: tenantId, purpose: 'subject-dek' as const, ref: newId(), id: newId(), version: 1 };
        const w = await wrapUnderKek(core, kekSeries(tenantId), v, dk, ctx);
        made.push({ info: { ...v, parentId: w.parentId }, dk, wrapped: w.wrapped });
      }
    } catch (e) {
      wipe();
      throw e;
    } finally {
      random.fill(0);
    }
    const handed = p.handedOut.splice(0);
    let ok: boolean;
    try {
      this.writes += 1;
      ok = await core.db.write(async (tx) => {
        const k = store.keyStore(tx, core.schema);
        const parents = [...new Set(made.map((m) => m.info.parentId as string))];
        // The KEK may have been retired or destroyed (by another process) since it wrapped these.
        if ((await store.liveVersionIds(k, parents)).size !== parents.length) return false;
        await store.insertSeriesMany(
          k,
          made.map(({ info }) => ({ owner: tenantId, purpose: info.purpose, ref: info.ref, current_version: 1, min_version: 1, created_at: now, updated_at: now, destroyed_at: null })),
        );
        await store.insertVersionsMany(
          k,
          made.map(({ info, wrapped }) => ({
            id: info.id,
            owner: tenantId,
            purpose: info.purpose,
            ref: info.ref,
            version: 1,
            parent_id: info.parentId,
            root_version: null,
            wrapped,
            usage_reserved: core.block,
            created_at: now,
            superseded_at: null,
            retired_at: null,
            destroyed_at: null,
          })),
        );
        await store.markPooled(k, tenantId, made.map((m) => m.info.ref), at.getTime());
        await store.markHandedOut(k, tenantId, handed);
        await core.audit.record(tx, ctx, {
          classUid: OCSF.ENTITY_MANAGEMENT,
          activityId: ACTIVITY.CREATE,
          action: 'key.create',
          kind: 'change',
          outcome: 'success',
          tenantId,
          target: { type: 'key_batch', id: newId() },
          details: {
            purpose: 'subject-dek',
            version: 1,
            pooled: true,
            count: made.length,
            wrappedBy: parents.map((id) => `kek ${id}`).join(', '),
            keys: made.map((m) => ({ keyId: m.info.id, subjectId: m.info.ref })),
          },
        });
        return true;
      });
    } catch (e) {
      p.handedOut.unshift(...handed);
      wipe();
      throw e;
    }
    if (!ok) {
      p.handedOut.unshift(...handed);
      wipe();
      core.invalidate();
      core.touched();
      return 0;
    }
    for (const { info, dk } of made) {
      core.adopt(new KeyMaterial(info, dk, [0, core.block]), epoch);
      p.ready.push({ subjectId: info.ref, keyId: info.id, parentId: info.parentId as string });
    }
    return made.length;
  }
}
