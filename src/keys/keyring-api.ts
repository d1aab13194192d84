import type { AuditRecorder } from '../audit/index.js';
import type { EncryptionContext, RootKeyDescription, RootKeyProvider } from '../crypto/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import type { PoolOptions } from './pool.js';
import type { AuditSigner, SealTarget } from './types.js';

/** The root key, or how to open it on first use (told whether the key store already holds root-wrapped keys). */
export type RootKeySource = RootKeyProvider | ((hasWrappedKeys: () => Promise<boolean>) => Promise<RootKeyProvider>);

export interface KeyringDeps {
  db: Db;
  audit: AuditRecorder;
  clock: Clock;
  rootKey: RootKeySource;
  cache: { maxEntries: number; ttlSeconds: number };
  /** Encryptions reserved in the key store per write (default 4096). */
  reserveBlock?: number;
  /** Subject key pool (allocateSubject): keys per key-store transaction and refill threshold. */
  pool?: PoolOptions;
  /** How often a destroy, retire or rotation by another process is looked for (default 1000 ms). */
  revalidateMs?: number;
}

/**
 * The key hierarchy at work: seals and opens data under tenant, subject and
 * platform keys, computes blind indexes, and hands the audit module its
 * signing key. Never call it inside a `db.write`/`db.read` unit: it runs its
 * own (and may wait on an HSM or KMS).
 */
export interface Keyring {
  /** Seals under the subject's DEK (when `target.subjectId`), else the tenant's (or platform's) DEK; creates keys on first use. */
  seal(target: SealTarget, plaintext: Buffer, ctx: EncryptionContext, actx?: RequestContext): Promise<Buffer>;
  /**
   * A fresh data-subject id (UUIDv7) whose subject DEK already exists in the
   * key store (wrapped under the tenant's current KEK, usage reserved, audited
   * `key.create` per batch) and is cached: `seal({ tenantId, subjectId })`
   * right after needs no key-store I/O. Taken from a per-tenant pool refilled
   * in the background; waits for the refill when the pool is empty.
   */
  allocateSubject(tenantId: string, actx?: RequestContext): Promise<string>;
  /** Gives back an id from allocateSubject that sealed nothing that was kept (a lost race): it is handed out again. Other ids are ignored. */
  releaseSubject(tenantId: string, subjectId: string): void;
  /** Opens an envelope under the key it names; KEY_DESTROYED when that key (or its KEK) was crypto-shredded. */
  open(envelope: Buffer, ctx: EncryptionContext): Promise<Buffer>;
  /** HMAC blind index of `value` under the tenant's index key for collection+field. */
  blindIndex(tenantId: string, collection: string, field: string, value: string | Uint8Array, actx?: RequestContext): Promise<string>;
  /** The current audit checkpoint signing key (created on first use). */
  auditSigner(): Promise<AuditSigner>;
  /** Every audit signing key version still held, for verifying older checkpoints. */
  auditPublicKeys(): Promise<Array<{ keyId: string; version: number; publicKey: Buffer }>>;
  /** Opens (or on first start creates) the root key now, instead of at first use. */
  ready(): Promise<RootKeyDescription>;
  /** Wipes every cached key and closes the root key provider. */
  close(): Promise<void>;
}
