import { randomBytes } from 'node:crypto';
import { ACTIVITY, OCSF } from '../audit/index.js';
import { wrapKey, wrappedKeyInfo, type RootKeyDescription } from '../crypto/index.js';
import { systemContext, type RequestContext } from '../shared/context.js';
import type { KeyringCore } from './keyring.js';
import { isStale, kekWrapContext, parentSeries, rootWrapAad, type VersionInfo } from './material.js';
import * as store from './store.js';
import { ROOT_SERIES, type SeriesRef } from './types.js';

/** A new key version's material: the plaintext key (the caller zeroes it) and its wrapped form. */
export interface Generated {
  dk: Buffer;
  wrapped: Buffer;
  parentId: string | null;
  rootVersion: number | null;
}

/**
 * Generates a key for version `version` of `s` and wraps it: by the root key
 * (tenant KEKs, platform keys; AWS KMS supplies the randomness), else by the
 * tenant's current KEK (created on first use).
 */
export async function generateVersion(core: KeyringCore, s: SeriesRef, id: string, version: number, actx?: RequestContext): Promise<Generated> {
  const parent = parentSeries(s);
  if (parent === null) {
    const root = await core.root();
    const g = await root.generateWrappedKey(rootWrapAad({ ...s, id, version, parentId: null }));
    return { dk: g.key, wrapped: g.wrapped, parentId: null, rootVersion: wrappedKeyInfo(g.wrapped).version };
  }
  const dk = randomBytes(32);
  try {
    return { dk, ...(await wrapUnderKek(core, parent, { ...s, id, version }, dk, actx)), rootVersion: null };
  } catch (e) {
    dk.fill(0);
    throw e;
  }
}

/** Wraps `dk` (key version `v` of a tenant) under the tenant's current KEK `kekSeries` (created on first use). */
export async function wrapUnderKek(
  core: KeyringCore,
  kekSeries: SeriesRef,
  v: Omit<VersionInfo, 'parentId'>,
  dk: Buffer,
  actx?: RequestContext,
): Promise<{ wrapped: Buffer; parentId: string }> {
  for (let attempt = 0; ; attempt++) {
    const kek = await core.sealing(kekSeries, actx);
    try {
      return { wrapped: wrapKey(kek.prepared, dk, kekWrapContext({ ...v, parentId: kek.info.id })), parentId: kek.info.id };
    } catch (e) {
      // A KEK wiped from the cache, or its reserved window used up meanwhile: take it again.
      if (attempt < 3 && isStale(e)) continue;
      throw e;
    }
  }
}

/**
 * Writes a new version in one unit with its audit event: v1 creates the
 * series, later versions advance it only from version-1 (so two rotations
 * cannot both win). 'lost' when another writer got there first; 'stale'
 * when the wrapping KEK or root version was retired meanwhile.
 */
export async function persistVersion(
  core: KeyringCore,
  v: VersionInfo & { rootVersion: number | null; wrapped: Buffer; usageReserved: number },
  actx: RequestContext | undefined,
  opts: { previous?: VersionInfo; reason?: string },
): Promise<true | 'lost' | 'stale'> {
  const s: SeriesRef = { owner: v.owner, purpose: v.purpose, ref: v.ref };
  const now = core.clock.now().toISOString();
  return core.db.write(async (tx) => {
    const k = store.keyStore(tx, core.schema);
    if (!(await store.wrapperLive(k, v.parentId, v.rootVersion))) return 'stale';
    if (v.version === 1) {
      const row = { ...s, current_version: 1, min_version: 1, created_at: now, updated_at: now, destroyed_at: null };
      if (!(await store.insertSeries(k, row))) return 'lost';
    } else {
      if (!(await store.advanceSeries(k, s, v.version - 1, v.version, now))) return 'lost';
      if (opts.previous) await store.markSuperseded(k, opts.previous.id, now);
      await store.bumpGeneration(k);
    }
    await store.insertVersion(k, {
      ...s,
      id: v.id,
      version: v.version,
      parent_id: v.parentId,
      root_version: v.rootVersion,
      wrapped: v.wrapped,
      usage_reserved: v.usageReserved,
      created_at: now,
      superseded_at: null,
      retired_at: null,
      destroyed_at: null,
    });
    await core.audit.record(tx, actx ?? systemContext('keys'), {
      classUid: OCSF.ENTITY_MANAGEMENT,
      activityId: v.version === 1 ? ACTIVITY.CREATE : ACTIVITY.UPDATE,
      action: v.version === 1 ? 'key.create' : 'key.rotate',
      kind: 'change',
      outcome: 'success',
      tenantId: s.owner.startsWith('_') ? null : s.owner,
      target: { type: 'key', id: v.id },
      details: {
        purpose: s.purpose,
        version: v.version,
        wrappedBy: v.rootVersion !== null ? `root v${v.rootVersion}` : `kek ${v.parentId}`,
        ...(s.ref ? { subjectId: s.ref } : {}),
        ...(opts.reason ? { reason: opts.reason } : {}),
      },
    });
    return true;
  });
}

/**
 * Records the unsealed root key (audited `key.unseal`) and keeps the root
 * series row in step with the provider's current version. Returns the root's
 * minimum decryption version.
 */
export async function syncRootSeries(core: KeyringCore, d: RootKeyDescription): Promise<number> {
  const now = core.clock.now().toISOString();
  return core.db.write(async (tx) => {
    const k = store.keyStore(tx, core.schema);
    const row = { ...ROOT_SERIES, current_version: d.keyVersion, min_version: 1, created_at: now, updated_at: now, destroyed_at: null };
    if (!(await store.insertSeries(k, row))) {
      const seen = await store.findSeries(k, ROOT_SERIES);
      if (seen && seen.current_version < d.keyVersion) await store.advanceSeries(k, ROOT_SERIES, seen.current_version, d.keyVersion, now);
    }
    await core.audit.record(tx, systemContext('keys'), {
      classUid: OCSF.API_ACTIVITY,
      activityId: ACTIVITY.OTHER,
      action: 'key.unseal',
      kind: 'system',
      outcome: 'success',
      target: { type: 'root_key', id: `${d.kind}/v${d.keyVersion}` },
      details: { provider: d.kind, rootVersion: d.keyVersion, versions: [...d.versions] },
    });
    return (await store.findSeries(k, ROOT_SERIES))?.min_version ?? 1;
  });
}
