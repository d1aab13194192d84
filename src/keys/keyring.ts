import type { AuditRecorder } from '../audit/index.js';
import {
  blindIndex,
  cryptoError,
  CryptoErrorCode,
  DEFAULT_USAGE_LIMIT,
  ENVELOPE_V1,
  envelopeKeyId,
  open,
  seal,
  unwrapKey,
  wrappedKeyInfo,
  type EncryptionContext,
  type RootKeyDescription,
  type RootKeyProvider,
} from '../crypto/index.js';
import type { Db } from '../db/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { KeyCache } from './cache.js';
import { keyErrors } from './errors.js';
import type { Keyring, KeyringDeps, RootKeySource } from './keyring-api.js';
import { isStale, kekWrapContext, KeyMaterial, rootWrapAad, versionInfo, type VersionInfo } from './material.js';
import { SubjectPool } from './pool.js';
import { generateVersion, persistVersion, syncRootSeries } from './versions.js';
import * as store from './store.js';
import { AUDIT_SIGNING, DATA_PURPOSES, describeSeries, ROOT_SERIES, sealSeries, seriesKey, type AuditSigner, type SealTarget, type SeriesRef } from './types.js';

/** Largest window of encryptions one reservation takes (a restart forfeits at most this much of 2^32). */
const MAX_WINDOW = 65_536;

/** A current-version pointer in the cache (nothing to wipe). */
class CurrentRef {
  constructor(readonly id: string) {}
  wipe(): void {}
}

export class KeyringCore implements Keyring {
  readonly db: Db;
  readonly audit: AuditRecorder;
  readonly clock: Clock;
  readonly #source: RootKeySource;
  readonly #block: number;
  readonly #revalidateMs: number;
  readonly #cache: KeyCache<KeyMaterial>;
  readonly #current: KeyCache<CurrentRef>;
  readonly #loading = new Map<string, Promise<KeyMaterial>>();
  readonly #reserving = new Map<string, Promise<void>>();
  readonly #resolving = new Map<string, Promise<KeyMaterial>>();
  #root: Promise<RootKeyProvider> | undefined;
  #provider: RootKeyProvider | undefined;
  #generation = -1;
  #epoch = 0;
  #checkedAt = -Infinity;
  #checking: Promise<void> | undefined;
  #rootMin = 1;
  #lastKeyId: { raw: Buffer; id: string } | undefined;
  /** Subject keys made ahead, per tenant (allocateSubject). */
  readonly pool: SubjectPool;

  constructor(d: KeyringDeps) {
    this.db = d.db;
    this.audit = d.audit;
    this.clock = d.clock;
    this.#source = d.rootKey;
    this.#block = d.reserveBlock ?? 4096;
    this.#revalidateMs = d.revalidateMs ?? 1000;
    // The system clock without a Date per cache lookup; an injected clock (tests) as it is.
    const now = d.clock === systemClock ? Date.now : () => d.clock.now().getTime();
    const opts = { maxEntries: d.cache.maxEntries, ttlMs: d.cache.ttlSeconds * 1000, now };
    this.#cache = new KeyCache<KeyMaterial>(opts);
    this.#current = new KeyCache<CurrentRef>(opts);
    this.pool = new SubjectPool(this, d.pool);
  }

  /** Encryptions reserved in the key store per write. */
  get block(): number {
    return this.#block;
  }

  /** Bumped by every invalidate(): material loaded before a change is not cached after it. */
  get epoch(): number {
    return this.#epoch;
  }

  allocateSubject(tenantId: string, _actx?: RequestContext): Promise<string> {
    return this.pool.allocate(tenantId);
  }

  releaseSubject(tenantId: string, subjectId: string): void {
    this.pool.release(tenantId, subjectId);
  }

  /** The key store schema of this database. */
  get schema(): string {
    return this.db.adapter.keyStoreSchema;
  }

  // seal/open answer from the cache without an async function's extra promise turns; anything else takes the slow path.
  seal(target: SealTarget, plaintext: Buffer, ctx: EncryptionContext, actx?: RequestContext): Promise<Buffer> {
    const s = sealSeries(target);
    const m = this.#hotSealing(s);
    if (m) {
      try {
        return Promise.resolve(this.#sealWith(m, plaintext, ctx));
      } catch (e) {
        if (!isStale(e)) return Promise.reject(e);
      }
    }
    return this.#sealSlow(s, plaintext, ctx, actx);
  }

  #sealWith(m: KeyMaterial, plaintext: Buffer, ctx: EncryptionContext): Buffer {
    const out = seal(m.prepared, plaintext, ctx);
    // Reserve the next window while this one still has room: sealing never waits on the key store.
    if (m.wantsWindow()) this.#reserve(m).catch(() => undefined);
    return out;
  }

  async #sealSlow(s: SeriesRef, plaintext: Buffer, ctx: EncryptionContext, actx?: RequestContext): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const m = await this.sealing(s, actx);
      try {
        return this.#sealWith(m, plaintext, ctx);
      } catch (e) {
        if (attempt < 3 && isStale(e)) continue;
        throw e;
      }
    }
  }

  open(envelope: Buffer, ctx: EncryptionContext): Promise<Buffer> {
    let id: string;
    try {
      id = this.#keyIdOf(envelope);
      const m = this.#hot(id);
      if (m) return Promise.resolve(this.#openWith(m, id, envelope, ctx));
    } catch (e) {
      if (!isStale(e)) return Promise.reject(e);
    }
    return this.#openSlow(envelope, ctx);
  }

  #openWith(m: KeyMaterial, id: string, envelope: Buffer, ctx: EncryptionContext): Buffer {
    if (m.info.owner !== ctx.tenantId) throw keyErrors.misused(id, `belongs to ${m.info.owner}, not ${ctx.tenantId}`);
    if (!DATA_PURPOSES.has(m.info.purpose)) throw keyErrors.misused(id, `is a ${m.info.purpose}, not a data key`);
    return open(m.prepared, envelope, ctx);
  }

  async #openSlow(envelope: Buffer, ctx: EncryptionContext): Promise<Buffer> {
    const id = envelopeKeyId(envelope);
    for (let attempt = 0; ; attempt++) {
      const m = await this.material(id);
      try {
        return this.#openWith(m, id, envelope, ctx);
      } catch (e) {
        if (attempt < 3 && isStale(e)) continue;
        throw e;
      }
    }
  }

  blindIndex(tenantId: string, collection: string, field: string, value: string | Uint8Array, actx?: RequestContext): Promise<string> {
    const s: SeriesRef = { owner: tenantId, purpose: 'index-key', ref: '' };
    const m = this.#hotCurrent(s);
    if (m) {
      try {
        return Promise.resolve(blindIndex(m.indexKey(collection, field), value));
      } catch (e) {
        if (!isStale(e)) return Promise.reject(e);
      }
    }
    return this.#blindIndexSlow(s, collection, field, value, actx);
  }

  async #blindIndexSlow(s: SeriesRef, collection: string, field: string, value: string | Uint8Array, actx?: RequestContext): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const m = await this.current(s, true, actx);
      try {
        return blindIndex(m.indexKey(collection, field), value);
      } catch (e) {
        if (attempt < 3 && isStale(e)) continue;
        throw e;
      }
    }
  }

  async auditSigner(): Promise<AuditSigner> {
    return (await this.current(AUDIT_SIGNING, true)).signer();
  }

  async auditPublicKeys(): Promise<Array<{ keyId: string; version: number; publicKey: Buffer }>> {
    const rows = await this.db.read((tx) => store.listSeriesVersions(store.keyStore(tx, this.schema), AUDIT_SIGNING));
    const out: Array<{ keyId: string; version: number; publicKey: Buffer }> = [];
    for (const row of rows.filter((r) => r.wrapped !== null)) {
      const s = (await this.material(row.id)).signer();
      out.push({ keyId: s.keyId, version: s.version, publicKey: s.publicKey });
    }
    return out;
  }

  async ready(): Promise<RootKeyDescription> {
    return (await this.root()).describe();
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.invalidate();
    const p = this.#provider;
    this.#provider = undefined;
    this.#root = Promise.reject(cryptoError('KEY_PROVIDER_CLOSED', 'the keyring is closed'));
    this.#root.catch(() => undefined);
    await p?.close();
  }

  /** The root key provider, opened (or created) on first use; its unsealing is audited. */
  root(): Promise<RootKeyProvider> {
    this.#root ??= this.#openRoot().catch((e: unknown) => {
      this.#root = undefined;
      throw e;
    });
    return this.#root;
  }

  async #openRoot(): Promise<RootKeyProvider> {
    const src = this.#source;
    const p = typeof src === 'function' ? await src(() => this.#hasRootWrapped()) : src;
    this.#provider = p;
    this.#rootMin = await syncRootSeries(this, p.describe());
    return p;
  }

  async #hasRootWrapped(): Promise<boolean> {
    const counts = await this.db.read((tx) => store.rootVersionCounts(store.keyStore(tx, this.schema)));
    return counts.some((c) => c.n > 0);
  }

  /** envelopeKeyId, remembering the last one decoded (a byte compare instead of a UUID string per open). */
  #keyIdOf(envelope: Buffer): string {
    const last = this.#lastKeyId;
    if (last && envelope instanceof Uint8Array && envelope.length > 17 && envelope[0] === ENVELOPE_V1 && last.raw.compare(envelope, 1, 17) === 0) return last.id;
    const id = envelopeKeyId(envelope);
    this.#lastKeyId = { raw: Buffer.from(envelope.subarray(1, 17)), id };
    return id;
  }

  /** The cached key `id` when nothing needs reading first: the hot path, without a promise turn. */
  #hot(id: string): KeyMaterial | undefined {
    if (Date.now() - this.#checkedAt >= this.#revalidateMs) return undefined;
    return this.#cache.get(id);
  }

  /** The cached current key of `s` when it may seal right away. */
  #hotSealing(s: SeriesRef): KeyMaterial | undefined {
    const m = this.#hotCurrent(s);
    return m?.canSeal() ? m : undefined;
  }

  /** The cached current key of `s` when nothing needs reading first (same freshness rule as #hot). */
  #hotCurrent(s: SeriesRef): KeyMaterial | undefined {
    if (Date.now() - this.#checkedAt >= this.#revalidateMs) return undefined;
    const ref = this.#current.get(seriesKey(s));
    return ref ? this.#cache.get(ref.id) : undefined;
  }

  /** Pending revalidation (#fresh) when the last one is older than revalidateMs; undefined when none is due. */
  ensureFresh(): Promise<void> | undefined {
    return this.#fresh();
  }

  /** True while key version `id` is in the cache (refreshed as most recently used). */
  isCached(id: string): boolean {
    return this.#cache.get(id) !== undefined;
  }

  /**
   * Caches new or reloaded material as the current version of its series,
   * unless the cache was invalidated since `epoch` (then wipes it): false.
   */
  adopt(m: KeyMaterial, epoch: number): boolean {
    if (epoch !== this.#epoch) {
      m.wipe();
      return false;
    }
    this.#cache.set(m.info.id, m);
    this.#current.set(seriesKey(m.info), new CurrentRef(m.info.id));
    return true;
  }

  /** Records `id` as the current version of `s` (its material is cached). */
  pointCurrent(s: SeriesRef, id: string): void {
    this.#current.set(seriesKey(s), new CurrentRef(id));
  }

  /** Notices, at most every revalidateMs, a destroy/retire/rotation made elsewhere: then drops every cached key. */
  #fresh(): Promise<void> | undefined {
    if (Date.now() - this.#checkedAt < this.#revalidateMs) return undefined;
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<void> {
    const { gen, rootMin } = await this.db.read(async (tx) => {
      const k = store.keyStore(tx, this.schema);
      return { gen: await store.readGeneration(k), rootMin: (await store.findSeries(k, ROOT_SERIES))?.min_version ?? 1 };
    });
    if (gen !== this.#generation) {
      if (this.#generation !== -1) this.invalidate();
      this.#generation = gen;
    }
    this.#rootMin = rootMin;
    this.#checkedAt = Date.now();
  }

  /** Drops (and wipes) cached keys: all, or those matching `pred`. */
  invalidate(pred?: (info: VersionInfo) => boolean): void {
    this.#epoch += 1;
    this.#cache.clear(pred ? (_k, m) => pred(m.info) : undefined);
    this.#current.clear();
  }

  /** Forces the next key use to re-read the key store (after this process changed it). */
  touched(): void {
    this.#checkedAt = -Infinity;
  }

  /** The unwrapped key version `id` (cached). */
  async material(id: string): Promise<KeyMaterial> {
    const f = this.#fresh();
    if (f) await f;
    const hit = this.#cache.get(id);
    if (hit) return hit;
    let p = this.#loading.get(id);
    if (!p) {
      p = this.#loadCached(id).finally(() => this.#loading.delete(id));
      this.#loading.set(id, p);
    }
    return p;
  }

  async #loadCached(id: string): Promise<KeyMaterial> {
    for (;;) {
      const epoch = this.#epoch;
      const m = await this.#load(id);
      if (epoch === this.#epoch) {
        this.#cache.set(id, m);
        return m;
      }
      m.wipe(); // a destroy or rotation happened while loading: read again
    }
  }

  async #load(id: string): Promise<KeyMaterial> {
    const { row, series } = await this.db.read(async (tx) => {
      const k = store.keyStore(tx, this.schema);
      const r = await store.findVersion(k, id);
      return { row: r, series: r ? await store.findSeries(k, versionInfo(r)) : undefined };
    });
    if (!row) throw keyErrors.notFound(id);
    const what = `key ${id} (${row.purpose} v${row.version} of ${row.owner})`;
    if (row.destroyed_at !== null || series?.destroyed_at) throw keyErrors.destroyed(what);
    if (row.retired_at !== null || row.wrapped === null || (series && row.version < series.min_version)) throw keyErrors.retired(what);
    const info = versionInfo(row);
    return new KeyMaterial(info, await this.#unwrap(info, Buffer.from(row.wrapped)));
  }

  async #unwrap(info: VersionInfo, wrapped: Buffer): Promise<Buffer> {
    if (info.parentId === null) {
      const root = await this.root();
      const rv = wrappedKeyInfo(wrapped).version;
      if (rv < this.#rootMin) throw keyErrors.retired(`root key version ${rv}`);
      return root.unwrap(wrapped, rootWrapAad(info));
    }
    const parent = await this.material(info.parentId);
    if (parent.info.purpose !== 'tenant-kek' || parent.info.owner !== info.owner) {
      throw keyErrors.misused(info.parentId, `cannot wrap ${info.purpose} ${info.id}`);
    }
    return unwrapKey(parent.prepared, wrapped, kekWrapContext(info));
  }

  /**
   * The current version of series `s`, unwrapped; created (v1) on first use
   * when `create`. Concurrent callers for one series share one lookup (and
   * one creation): a record sealing several fields for a new subject makes
   * one key, not one per field with all but one lost.
   */
  async current(s: SeriesRef, create: boolean, actx?: RequestContext): Promise<KeyMaterial> {
    const key = seriesKey(s);
    const f = this.#fresh();
    if (f) await f;
    const ref = this.#current.get(key);
    if (ref) return this.material(ref.id);
    const flight = create ? `${key}\u0000+` : key;
    let p = this.#resolving.get(flight);
    if (!p) {
      p = this.#resolveCurrent(s, key, create, actx).finally(() => this.#resolving.delete(flight));
      this.#resolving.set(flight, p);
    }
    return p;
  }

  async #resolveCurrent(s: SeriesRef, key: string, create: boolean, actx?: RequestContext): Promise<KeyMaterial> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const f = this.#fresh();
      if (f) await f;
      const ref = this.#current.get(key);
      if (ref) return this.material(ref.id);
      const found = await this.db.read(async (tx) => {
        const k = store.keyStore(tx, this.schema);
        const series = await store.findSeries(k, s);
        return { series, version: series ? await store.findSeriesVersion(k, s, series.current_version) : undefined };
      });
      if (found.series?.destroyed_at) throw keyErrors.destroyed(describeSeries(s));
      if (found.version) {
        this.#current.set(key, new CurrentRef(found.version.id));
        return this.material(found.version.id);
      }
      if (!create) throw keyErrors.notFound(describeSeries(s));
      const made = await this.createVersion(s, 1, actx);
      if (made) return made;
    }
    throw keyErrors.rotateConflict(describeSeries(s));
  }

  /** The current version of `s`, with room reserved for at least one more encryption; rotates it at 2^32. */
  async sealing(s: SeriesRef, actx?: RequestContext): Promise<KeyMaterial> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const m = await this.current(s, true, actx);
      if (m.canSeal()) return m;
      try {
        await this.#reserve(m);
      } catch (e) {
        if (!isCustosError(e) || e.code !== CryptoErrorCode.USAGE_LIMIT) throw e;
        await this.createVersion(s, m.info.version + 1, actx, { previous: m.info, reason: 'usage limit reached' });
        continue;
      }
      if (m.canSeal()) return m;
    }
    throw keyErrors.rotateConflict(describeSeries(s));
  }

  #reserve(m: KeyMaterial): Promise<void> {
    const id = m.info.id;
    let p = this.#reserving.get(id);
    if (!p) {
      p = (async () => {
        const size = m.nextWindowSize(Date.now(), this.#block, MAX_WINDOW);
        const end = await this.db.write((tx) => store.reserveUsage(store.keyStore(tx, this.schema), id, size));
        const start = end - size;
        if (start >= DEFAULT_USAGE_LIMIT) {
          throw cryptoError(CryptoErrorCode.USAGE_LIMIT, `key ${id} reached 2^32 encryptions; rotating it`);
        }
        if (!m.wiped) m.addWindow(start, Math.min(end, DEFAULT_USAGE_LIMIT));
      })().finally(() => this.#reserving.delete(id));
      this.#reserving.set(id, p);
    }
    return p;
  }

  /**
   * Creates version `version` of `s` (1: a new series; more: a rotation that
   * must find the series still at version-1) and audits it in the same unit.
   * Returns null when another writer got there first.
   */
  async createVersion(
    s: SeriesRef,
    version: number,
    actx?: RequestContext,
    opts: { previous?: VersionInfo; reason?: string } = {},
  ): Promise<KeyMaterial | null> {
    const id = newId();
    const { dk, wrapped, parentId, rootVersion } = await generateVersion(this, s, id, version, actx);
    const info: VersionInfo = { ...s, id, version, parentId };
    const ok = await persistVersion(this, { ...info, rootVersion, wrapped, usageReserved: this.#block }, actx, opts);
    if (ok !== true) {
      dk.fill(0);
      if (ok === 'stale') {
        this.invalidate();
        this.touched();
      }
      return null;
    }
    const m = new KeyMaterial(info, dk, [0, this.#block]);
    this.#cache.set(id, m);
    this.#current.set(seriesKey(s), new CurrentRef(id));
    if (version > 1) this.touched();
    return m;
  }
}

/** Builds the keyring (see Keyring). */
export function createKeyring(deps: KeyringDeps): KeyringCore {
  return new KeyringCore(deps);
}
