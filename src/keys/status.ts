import type { KeyringCore } from './keyring.js';
import * as store from './store.js';
import { PLATFORM, ROOT_SERIES, type KeyPurpose, type KeyStatus, type SeriesStatus, type VersionStatus } from './types.js';

const DAY_MS = 24 * 3600_000;

function versionState(v: store.VersionRow, s: store.SeriesRow): VersionStatus['state'] {
  if (v.destroyed_at !== null || s.destroyed_at !== null) return 'destroyed';
  if (v.retired_at !== null || v.version < s.min_version) return 'retired';
  return v.version === s.current_version ? 'current' : 'decrypt-only';
}

function seriesStatus(
  s: store.SeriesRow,
  versions: readonly store.VersionRow[],
  parents: ReadonlyMap<string, store.VersionRow>,
  dependents: ReadonlyMap<string, number>,
  now: number,
): SeriesStatus {
  return {
    owner: s.owner,
    purpose: s.purpose as KeyPurpose,
    ref: s.ref,
    currentVersion: s.current_version,
    minVersion: s.min_version,
    destroyed: s.destroyed_at !== null,
    versions: versions.map((v) => {
      const parent = v.parent_id !== null ? parents.get(v.parent_id) : undefined;
      return {
        id: v.id,
        version: v.version,
        state: versionState(v, s),
        createdAt: v.created_at,
        ageDays: Math.floor((now - Date.parse(v.created_at)) / DAY_MS),
        usage: v.usage_reserved,
        wrappedBy: v.root_version !== null ? `root v${v.root_version}` : parent ? `kek v${parent.version}` : v.parent_id,
        ...(s.purpose === 'tenant-kek' ? { dependents: dependents.get(v.id) ?? 0 } : {}),
      };
    }),
  };
}

function pendingLines(status: KeyStatus): string[] {
  const out: string[] = [];
  for (const v of status.root.versions) {
    if (v.version < status.root.currentVersion && v.wraps > 0) out.push(`root v${v.version} still wraps ${v.wraps} key(s): run \`custos keys rewrap\``);
  }
  for (const t of status.tenants) {
    for (const v of t.kek?.versions ?? []) {
      if (v.state === 'decrypt-only' && (v.dependents ?? 0) > 0) {
        out.push(`tenant ${t.tenantId} KEK v${v.version} still wraps ${v.dependents} key(s): run \`custos keys rewrap\``);
      }
    }
  }
  for (const j of status.jobs) if (j.state === 'running') out.push(`rewrap job ${j.id} (${j.scope} ${j.owner}) stopped at ${j.done}/${j.total}: run \`custos keys rewrap\``);
  return out;
}

/**
 * What `custos keys status` shows: root versions and what each still wraps,
 * platform keys, each tenant's KEK / DEK / index key versions (age, reserved
 * usage, dependents), subject key counts, rewrap jobs, and what still
 * depends on an old version. Never key material.
 */
export async function keyStatus(core: KeyringCore, tenantId: string | null): Promise<KeyStatus> {
  const root = (await core.root()).describe();
  const now = core.clock.now().getTime();
  const data = await core.db.read(async (tx) => {
    const k = store.keyStore(tx, core.schema);
    const series = await store.listSeries(k, tenantId);
    const owners = [...new Set(series.map((s) => s.owner))];
    return {
      rootSeries: await store.findSeries(k, ROOT_SERIES),
      rootCounts: await store.rootVersionCounts(k),
      series,
      versions: await store.listVersionsOf(k, owners),
      dependents: await store.parentCounts(k, tenantId),
      subjects: await store.subjectCounts(k, tenantId),
      pooled: await store.listPooled(k, tenantId),
      jobs: await store.listJobs(k, 20),
    };
  });
  const byId = new Map(data.versions.map((v) => [v.id, v]));
  const versionsOf = (s: store.SeriesRow) => data.versions.filter((v) => v.owner === s.owner && v.purpose === s.purpose && v.ref === s.ref);
  const stat = (s: store.SeriesRow | undefined) => (s ? seriesStatus(s, versionsOf(s), byId, data.dependents, now) : null);
  const minRoot = data.rootSeries?.min_version ?? 1;
  const tenantIds = [...new Set([...data.series.map((s) => s.owner), ...data.subjects.map((s) => s.owner)])].filter((o) => !o.startsWith('_'));
  const find = (owner: string, purpose: string) => data.series.find((s) => s.owner === owner && s.purpose === purpose);
  const status: KeyStatus = {
    root: {
      kind: root.kind,
      currentVersion: root.keyVersion,
      minVersion: minRoot,
      versions: root.versions.map((v) => ({ version: v, wraps: data.rootCounts.find((c) => c.version === v)?.n ?? 0, retired: v < minRoot })),
      details: { ...root.details },
    },
    platform: data.series.filter((s) => s.owner === PLATFORM).map((s) => stat(s) as SeriesStatus),
    tenants: tenantIds.map((t) => ({
      tenantId: t,
      kek: stat(find(t, 'tenant-kek')),
      dek: stat(find(t, 'tenant-dek')),
      indexKey: stat(find(t, 'index-key')),
      subjects: data.subjects.filter((s) => s.owner === t).reduce((n, s) => n + s.n, 0),
      subjectsDestroyed: data.subjects.find((s) => s.owner === t && s.destroyed)?.n ?? 0,
      subjectsPooled: data.pooled.filter((p) => p.tenantId === t).length,
    })),
    jobs: data.jobs.map((j) => ({
      id: j.id,
      scope: j.scope,
      owner: j.owner,
      target: j.target,
      state: j.state,
      total: j.total,
      done: j.done,
      startedAt: j.started_at,
      finishedAt: j.finished_at,
    })),
    pending: [],
  };
  status.pending = pendingLines(status);
  if (tenantId !== null) status.platform = [];
  return status;
}
