import type { Guard } from '../access/index.js';
import { ACTIVITY, OCSF, type AuditEventInput, type AuditRecorder } from '../audit/index.js';
import { scopeTenant, type Db, type TenantScope, type Tx } from '../db/index.js';
import type { IdempotencyService } from '../idempotency/index.js';
import type { Keyring } from '../keys/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import type { TenantService } from '../tenants/index.js';
import { createFileVault, createLocalBlobStore, type FileVault } from './files/index.js';
import { vaultErrors } from './errors.js';
import { findCollection, findRecordGated, type CollectionRow, type RecordRow } from './store.js';
import type { Collection, CollectionSchema } from './types.js';

export interface VaultDeps {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  idempotency: IdempotencyService;
  clock: Clock;
  keys: Keyring;
  tenants: Pick<TenantService, 'requireActive'>;
  /** Where file contents go (`<dataDir>/blobs`); without it file fields answer VAULT_FILES_UNAVAILABLE. */
  blobDir?: string | undefined;
  /** Largest file in bytes unless the field says less (default 25 MiB). */
  maxFileBytes?: number | undefined;
  /** How long a collection schema or subject lookup is trusted from memory (default 1000 ms; another process may change it). */
  cacheMs?: number;
}

export interface LoadedCollection {
  row: CollectionRow;
  schema: CollectionSchema;
}

const MAX_CACHED = 10_000;
export const DEFAULT_MAX_FILE_BYTES = 25 * 1024 * 1024;

/** A bounded map whose entries expire: schemas and subject lookups, so a record create needs no extra read. */
class TtlCache<V> {
  readonly #m = new Map<string, { v: V; at: number }>();
  constructor(
    readonly ttlMs: number,
    readonly now: () => number,
  ) {}
  get(k: string): V | undefined {
    const e = this.#m.get(k);
    if (!e) return undefined;
    if (this.now() - e.at >= this.ttlMs) {
      this.#m.delete(k);
      return undefined;
    }
    return e.v;
  }
  set(k: string, v: V): void {
    if (this.#m.size >= MAX_CACHED) this.#m.delete(this.#m.keys().next().value as string);
    this.#m.set(k, { v, at: this.now() });
  }
  delete(k: string): void {
    this.#m.delete(k);
  }
}

export function toCollection(row: CollectionRow, schema: CollectionSchema): Collection {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    version: row.version,
    fields: schema.fields,
    subjectField: schema.subjectField,
    retentionDays: schema.retentionDays,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Internal helpers shared by the collection, record and read parts of the service. */
export class VaultCore {
  readonly db: Db;
  readonly audit: AuditRecorder;
  readonly guard: Guard;
  readonly idempotency: IdempotencyService;
  readonly clock: Clock;
  readonly keys: Keyring;
  readonly #tenants: VaultDeps['tenants'];
  readonly #collections: TtlCache<LoadedCollection>;
  readonly #subjects: TtlCache<string>;
  readonly #blobDir: string | undefined;
  readonly maxFileBytes: number;
  #files: Promise<FileVault> | undefined;

  constructor(d: VaultDeps) {
    this.db = d.db;
    this.audit = d.audit;
    this.guard = d.guard;
    this.idempotency = d.idempotency;
    this.clock = d.clock;
    this.keys = d.keys;
    this.#tenants = d.tenants;
    // The system clock without a Date per lookup; an injected clock (tests) as it is.
    const now = d.clock === systemClock ? Date.now : () => d.clock.now().getTime();
    this.#collections = new TtlCache(d.cacheMs ?? 1000, now);
    this.#subjects = new TtlCache(Math.max(d.cacheMs ?? 1000, 60_000), now);
    this.#blobDir = d.blobDir;
    this.maxFileBytes = d.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  /** The encrypted file layer (its blob directory is created on first use). */
  files(): Promise<FileVault> {
    const dir = this.#blobDir;
    if (!dir) return Promise.reject(vaultErrors.filesUnavailable());
    this.#files ??= createLocalBlobStore({ dir }).then((store) => createFileVault({ keyring: this.keys, store, maxBytes: this.maxFileBytes }));
    this.#files.catch(() => (this.#files = undefined));
    return this.#files;
  }

  /** Deletes blobs whose rows are gone (after the commit); a failure leaves an orphan blob that opens with no key row, never data loss. */
  async dropBlobs(blobIds: string[]): Promise<void> {
    if (blobIds.length === 0 || !this.#blobDir) return;
    const files = await this.files();
    await Promise.all(blobIds.map((id) => files.delete(id).catch(() => false)));
  }

  now(): string {
    return this.clock.now().toISOString();
  }

  /** The tenant scope of an active tenant (TENANT_NOT_ACTIVE otherwise). */
  async scope(tx: Tx, tenantId: string): Promise<TenantScope> {
    await this.#tenants.requireActive(tx, tenantId);
    return scopeTenant(this.db.adapter, tx, tenantId);
  }

  /** The tenant scope without the tenant-state read, for units that check it themselves (store.writeGate). */
  scopeOnly(tx: Tx, tenantId: string): Promise<TenantScope> {
    return scopeTenant(this.db.adapter, tx, tenantId);
  }

  /** The collection (from memory when fresh); 404 with a security event when the tenant has none by that name. */
  async collection(ctx: RequestContext, tenantId: string, name: string): Promise<LoadedCollection> {
    const key = `${tenantId}\u0000${name}`;
    const hit = this.#collections.get(key);
    if (hit) return hit;
    const row = await this.db.read(async (tx) => findCollection(await this.scope(tx, tenantId), name));
    if (!row) throw await this.guard.scopeMiss(ctx, { tenantId, type: 'collection', id: name });
    const loaded = { row, schema: JSON.parse(row.schema) as CollectionSchema };
    this.#collections.set(key, loaded);
    return loaded;
  }

  /**
   * A record of the collection by id, in one read that also checks the tenant's state: a tenant
   * that is not active answers its own error (as `scope`), a record not in this tenant's
   * collection 404 with a security event.
   */
  async record(ctx: RequestContext, tenantId: string, col: LoadedCollection, id: string): Promise<RecordRow> {
    const row = await this.db.read(async (tx) => findRecordGated(await this.scopeOnly(tx, tenantId), col.row.id, id));
    if (row?.tenant_state !== 'active') {
      await this.db.read((tx) => this.scope(tx, tenantId));
      if (!row) throw await this.guard.scopeMiss(ctx, { tenantId, type: 'record', id });
    }
    return row;
  }

  forgetCollection(tenantId: string, name: string): void {
    this.#collections.delete(`${tenantId}\u0000${name}`);
  }

  /**
   * The subject a lookup names, from memory only (undefined when not known here). A create with a
   * value not in memory resolves it inside its unit of work (create.ts); the cache spares that unit
   * the lookup row's statement.
   */
  cachedSubject(tenantId: string, lookup: string): string | undefined {
    return this.#subjects.get(`${tenantId}\u0000${lookup}`);
  }

  rememberSubject(tenantId: string, lookup: string, subjectId: string): void {
    this.#subjects.set(`${tenantId}\u0000${lookup}`, subjectId);
  }

  forgetSubject(tenantId: string, lookup: string): void {
    this.#subjects.delete(`${tenantId}\u0000${lookup}`);
  }
}

/** A vault audit event: references only (ids, collection and field names), never values. */
export function vaultEvent(
  action: string,
  activityId: number,
  tenantId: string,
  target: { type: string; id: string },
  details: AuditEventInput['details'] = {},
): AuditEventInput {
  const access = activityId === ACTIVITY.READ;
  return {
    classUid: access ? OCSF.DATASTORE_ACTIVITY : OCSF.ENTITY_MANAGEMENT,
    activityId,
    action,
    kind: access ? 'access' : 'change',
    outcome: 'success',
    tenantId,
    target,
    details,
  };
}
