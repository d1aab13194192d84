import type { RewrapJobsTable } from '../db/types.js';
import type { KeyObject } from 'node:crypto';

/** Owner of platform keys (wrapped by the root). */
export const PLATFORM = '_platform';
/** Owner of the root key's series row (its minimum decryption version). */
export const ROOT = '_root';

/**
 * What a key is for; its parent follows from it (material.ts parentSeries).
 * 'root' names only the series row that records the root key's minimum
 * decryption version; the root key itself lives in its provider.
 */
export type KeyPurpose = 'tenant-kek' | 'tenant-dek' | 'index-key' | 'subject-dek' | 'platform-dek' | 'audit-signing' | 'root';

/** Purposes whose keys seal data (envelopes are opened only with these). */
export const DATA_PURPOSES: ReadonlySet<KeyPurpose> = new Set(['tenant-dek', 'subject-dek', 'platform-dek']);

/** Keys wrapped by the root key; all others are wrapped by their tenant's current KEK. */
export const ROOT_WRAPPED: ReadonlySet<KeyPurpose> = new Set(['tenant-kek', 'platform-dek', 'audit-signing']);

/** A key series: one key and its versions. */
export interface SeriesRef {
  readonly owner: string;
  readonly purpose: KeyPurpose;
  /** The data subject for subject DEKs; '' otherwise. */
  readonly ref: string;
}

export const ROOT_SERIES: SeriesRef = { owner: ROOT, purpose: 'root', ref: '' };
export const AUDIT_SIGNING: SeriesRef = { owner: PLATFORM, purpose: 'audit-signing', ref: '' };
export const PLATFORM_DEK: SeriesRef = { owner: PLATFORM, purpose: 'platform-dek', ref: '' };

/** The tenant's KEK series. */
export function kekSeries(tenantId: string): SeriesRef {
  return { owner: tenantId, purpose: 'tenant-kek', ref: '' };
}

/** Who a sealed value belongs to: the tenant, and the data subject when it is personal data of one. */
export interface SealTarget {
  readonly tenantId: string;
  readonly subjectId?: string | null | undefined;
}

/** The audit checkpoint signing key, for the audit module (wired in main.ts). */
export interface AuditSigner {
  /** Key version id in the key store. */
  readonly keyId: string;
  readonly version: number;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** The private key as a node KeyObject (not inspectable, not serialisable); signed notes take it. */
  readonly privateKey: KeyObject;
  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Buffer;
}

/** One crypto-shredding, as the erasure ledger keeps it. */
export interface LedgerEntry {
  id: string;
  erasedAt: string;
  scope: 'subject' | 'tenant';
  tenantId: string;
  subjectId: string | null;
  keyIds: string[];
  reason: string;
  actor: string;
  requestId: string;
}

/** One key version as `keys status` shows it. */
export interface VersionStatus {
  id: string;
  version: number;
  state: 'current' | 'decrypt-only' | 'retired' | 'destroyed';
  createdAt: string;
  ageDays: number;
  usage: number;
  /** Root version (root-wrapped keys) or parent KEK version that wraps it. */
  wrappedBy: string | null;
  /** Keys this version still wraps (KEKs only). */
  dependents?: number;
}

export interface SeriesStatus {
  owner: string;
  purpose: KeyPurpose;
  ref: string;
  currentVersion: number;
  minVersion: number;
  destroyed: boolean;
  versions: VersionStatus[];
}

/** A rewrap job as status shows it. */
export type RewrapJobStatus = Pick<RewrapJobsTable, 'id' | 'scope' | 'owner' | 'target' | 'state' | 'total' | 'done'> & {
  startedAt: string;
  finishedAt: string | null;
};

export interface KeyStatus {
  root: {
    kind: string;
    currentVersion: number;
    minVersion: number;
    versions: Array<{ version: number; wraps: number; retired: boolean }>;
    details: Record<string, string | number | boolean>;
  };
  platform: SeriesStatus[];
  tenants: Array<{ tenantId: string; kek: SeriesStatus | null; dek: SeriesStatus | null; indexKey: SeriesStatus | null; subjects: number;
    subjectsDestroyed: number;
    /** Of `subjects`: keys made by the subject key pool and not (yet) known to be handed out (see README: orphans). */
    subjectsPooled: number;
  }>;
  jobs: RewrapJobStatus[];
  /** Plain-language list of what still depends on a version older than the current one. */
  pending: string[];
}

export interface RewrapProgress {
  jobId: string;
  scope: 'root' | 'tenant';
  owner: string;
  done: number;
  total: number;
}

/** The series a sealed value goes under: the subject's DEK, else the tenant's (or the platform's) DEK. */
export function sealSeries(t: SealTarget): SeriesRef {
  if (t.tenantId === PLATFORM) return PLATFORM_DEK;
  if (t.subjectId) return { owner: t.tenantId, purpose: 'subject-dek', ref: t.subjectId };
  return { owner: t.tenantId, purpose: 'tenant-dek', ref: '' };
}

/** A series as one string (cache key). */
export function seriesKey(s: SeriesRef): string {
  return `${s.owner}\u0000${s.purpose}\u0000${s.ref}`;
}

/** A series in words, for messages. */
export function describeSeries(s: SeriesRef): string {
  return `${s.purpose} of ${s.owner}${s.ref ? ` (subject ${s.ref})` : ''}`;
}
