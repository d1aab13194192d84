import { ACTIVITY, OCSF } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import type { RequestContext } from '../shared/context.js';
import type { KeyringCore } from './keyring.js';
import * as store from './store.js';
import { ROOT_SERIES } from './types.js';

/**
 * A version superseded less than this long ago is kept: another process may
 * still hold the old current version in its cache for up to its revalidation
 * interval (1 s) and wrap one more key under it.
 */
export const RETIRE_GRACE_MS = 5_000;

export interface RetireResult {
  root: { from: number; to: number };
  keks: Array<{ tenantId: string; retired: number[]; minVersion: number }>;
}

function audit(core: KeyringCore, tx: Tx, ctx: RequestContext, tenantId: string | null, details: Record<string, number | number[] | string>) {
  return core.audit.record(tx, ctx, {
    classUid: OCSF.ENTITY_MANAGEMENT,
    activityId: ACTIVITY.UPDATE,
    action: 'key.retire',
    kind: 'change',
    outcome: 'success',
    tenantId,
    target: { type: tenantId ? 'key' : 'root_key', id: tenantId ? `${tenantId}/tenant-kek` : 'root' },
    details,
  });
}

async function retireRoot(core: KeyringCore, k: store.KeyStore, tx: Tx, ctx: RequestContext, current: number): Promise<RetireResult['root']> {
  const from = (await store.findSeries(k, ROOT_SERIES))?.min_version ?? 1;
  const referenced = (await store.rootVersionCounts(k)).filter((c) => c.n > 0).map((c) => c.version);
  const to = Math.min(current, ...referenced);
  if (to > from) {
    await store.setMinVersion(k, ROOT_SERIES, to, core.clock.now().toISOString());
    await audit(core, tx, ctx, null, { purpose: 'root', from, minVersion: to });
  }
  return { from, to: Math.max(from, to) };
}

async function retireKeks(core: KeyringCore, k: store.KeyStore, tx: Tx, ctx: RequestContext): Promise<RetireResult['keks']> {
  const now = core.clock.now();
  const out: RetireResult['keks'] = [];
  const deps = await store.parentCounts(k, null);
  const keks = (await store.listSeries(k, null)).filter((s) => s.purpose === 'tenant-kek' && s.destroyed_at === null);
  for (const s of keks) {
    const versions = await store.listSeriesVersions(k, s);
    const idle = (v: store.VersionRow) =>
      v.wrapped !== null &&
      v.version < s.current_version &&
      (deps.get(v.id) ?? 0) === 0 &&
      v.superseded_at !== null &&
      now.getTime() - Date.parse(v.superseded_at) >= RETIRE_GRACE_MS;
    const retire = versions.filter(idle);
    if (retire.length === 0) continue;
    await store.retireVersions(k, retire.map((v) => v.id), now.toISOString());
    const gone = new Set(retire.map((v) => v.id));
    const minVersion = versions.find((v) => v.wrapped !== null && !gone.has(v.id))?.version ?? s.current_version;
    await store.setMinVersion(k, s, minVersion, now.toISOString());
    const retired = retire.map((v) => v.version);
    await audit(core, tx, ctx, s.owner, { purpose: 'tenant-kek', retired, minVersion });
    out.push({ tenantId: s.owner, retired, minVersion });
  }
  return out;
}

/**
 * Retires every root version and tenant KEK version that nothing depends on
 * any more (below the current one): the root's minimum decryption version
 * rises past them (the provider keeps their material; Custos refuses to
 * unwrap under them), and retired KEK versions are wiped from the key
 * store. Data key versions are not retired here: what data they seal is not
 * tracked in the key store.
 */
export async function retireUnused(core: KeyringCore, ctx: RequestContext): Promise<RetireResult> {
  const current = (await core.root()).describe().keyVersion;
  const result = await core.db.write(async (tx) => {
    const k = store.keyStore(tx, core.schema);
    const root = await retireRoot(core, k, tx, ctx, current);
    const keks = await retireKeks(core, k, tx, ctx);
    if (root.to > root.from || keks.length > 0) await store.bumpGeneration(k);
    return { root, keks };
  });
  core.invalidate();
  core.touched();
  return result;
}
