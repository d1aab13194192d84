import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { cryptoError, CryptoErrorCode, deriveIndexKey, encodeParts, prepareKey, type KeyWrapContext, type PreparedKey } from '../crypto/index.js';
import { isCustosError } from '../shared/errors.js';
import type { Wipeable } from './cache.js';
import type { VersionRow } from './store.js';
import { ROOT_WRAPPED, type AuditSigner, type KeyPurpose, type SeriesRef } from './types.js';

/** A key version's identity: what the key store says about it (never its material). */
export interface VersionInfo extends SeriesRef {
  readonly id: string;
  readonly version: number;
  readonly parentId: string | null;
}

export function versionInfo(row: VersionRow): VersionInfo {
  return {
    id: row.id,
    owner: row.owner,
    purpose: row.purpose as KeyPurpose,
    ref: row.ref,
    version: row.version,
    parentId: row.parent_id,
  };
}

/** The series a key with this purpose is wrapped by (null: the root key). */
export function parentSeries(s: SeriesRef): SeriesRef | null {
  return ROOT_WRAPPED.has(s.purpose) ? null : { owner: s.owner, purpose: 'tenant-kek', ref: '' };
}

/** AAD of a root-wrapped key: binds owner, purpose, subject, version and id, so no blob can be moved to another row. */
export function rootWrapAad(v: VersionInfo): Buffer {
  return encodeParts('custos/v1/root-wrap', v.owner, v.purpose, v.ref, String(v.version), v.id);
}

/** Context of a KEK-wrapped key (wrapKey/unwrapKey): same bindings as rootWrapAad. */
export function kekWrapContext(v: VersionInfo): KeyWrapContext {
  return { tenantId: v.owner, purpose: `${v.purpose}/${v.ref === '' ? '-' : v.ref}/v${v.version}`, childKeyId: v.id };
}

const STALE: ReadonlySet<string> = new Set([CryptoErrorCode.USAGE_LIMIT, CryptoErrorCode.KEY_DESTROYED]);

/** A key wiped from the cache, or its reserved window used up, between taking it and using it: take it again. */
export function isStale(e: unknown): boolean {
  return isCustosError(e) && STALE.has(e.code);
}

/** PKCS#8 DER prefix of an Ed25519 private key; its 32-byte seed follows. */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * One unwrapped key version, as the cache holds it: the 32-byte key, its
 * PreparedKey and, for sealing, a usage window reserved in the key store.
 * wipe() zeroes everything; nothing here prints or serialises material.
 */
export class KeyMaterial implements Wipeable {
  readonly info: VersionInfo;
  #dk: Buffer;
  #prepared: PreparedKey;
  /** Sealing is allowed only inside a reserved window [start, prepared.usageLimit). */
  #armed = false;
  #start = 0;
  /** A window reserved ahead, taken when the current one is used up. */
  #next: [number, number] | undefined;
  #windowSize = 0;
  #reservedAt = 0;
  #indexKeys = new Map<string, Buffer>();
  #signer: AuditSigner | undefined;
  #wiped = false;

  /** `window`: a usage window [start, end) already reserved, armed at once (one key derivation instead of two). */
  constructor(info: VersionInfo, dk: Buffer, window?: readonly [number, number]) {
    this.info = info;
    this.#dk = dk;
    if (window) {
      this.#prepared = prepareKey(info.id, dk, { initialUsage: window[0], usageLimit: window[1] });
      this.#start = window[0];
      this.#armed = true;
    } else {
      this.#prepared = prepareKey(info.id, dk);
    }
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  /** The PreparedKey for opening (and, once armed, sealing). */
  get prepared(): PreparedKey {
    return this.#prepared;
  }

  /** True while a reserved window has room for one more encryption (moving to the window reserved ahead if needed). */
  canSeal(): boolean {
    if (this.#wiped || !this.#armed) return false;
    if (this.#prepared.usage < this.#prepared.usageLimit) return true;
    const next = this.#next;
    if (next === undefined) return false;
    this.#next = undefined;
    this.#arm(next[0], next[1]);
    return true;
  }

  /** True once half the current window is used and nothing is reserved ahead: time to reserve the next one. */
  wantsWindow(): boolean {
    const p = this.#prepared;
    return this.#armed && this.#next === undefined && !this.#wiped && p.usage - this.#start >= (p.usageLimit - this.#start) / 2;
  }

  /**
   * How many encryptions to reserve next: `base`, doubled (up to `max`) while
   * windows last under a second, so a hot key writes to the key store about
   * once a second at most, and a restart forfeits little of a quiet key's 2^32.
   */
  nextWindowSize(now: number, base: number, max: number): number {
    const quick = this.#windowSize > 0 && now - this.#reservedAt < 1000;
    this.#windowSize = quick ? Math.min(max, this.#windowSize * 2) : base;
    this.#reservedAt = now;
    return this.#windowSize;
  }

  /** Adds a reserved window [start, end) of encryptions: used now if there is none open, else queued. */
  addWindow(start: number, end: number): void {
    if (this.#armed && this.#prepared.usage < this.#prepared.usageLimit) this.#next = [start, end];
    else this.#arm(start, end);
  }

  #arm(start: number, end: number): void {
    const next = prepareKey(this.info.id, this.#dk, { initialUsage: start, usageLimit: end });
    this.#prepared.destroy();
    this.#prepared = next;
    this.#start = start;
    this.#armed = true;
  }

  /** Per collection+field blind-index key (HKDF), derived once. */
  indexKey(collection: string, field: string): Buffer {
    // A wiped key would derive from zeroes: a wrong index, silently. Stale instead (callers take the key again).
    if (this.#wiped) throw cryptoError(CryptoErrorCode.KEY_DESTROYED, `key ${this.info.id} was wiped`);
    const k = `${collection}\u0000${field}`;
    let key = this.#indexKeys.get(k);
    if (key === undefined) {
      key = deriveIndexKey(this.#dk, collection, field);
      this.#indexKeys.set(k, key);
    }
    return key;
  }

  /** The Ed25519 signer whose seed this key is (audit-signing keys only). */
  signer(): AuditSigner {
    if (this.#signer) return this.#signer;
    const privateKey: KeyObject = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, this.#dk]), format: 'der', type: 'pkcs8' });
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    const info = this.info;
    this.#signer = {
      keyId: info.id,
      version: info.version,
      publicKey: Buffer.from(jwk.x ?? '', 'base64url'),
      privateKey,
      sign: (message) => sign(null, message, privateKey),
    };
    return this.#signer;
  }

  wipe(): void {
    if (this.#wiped) return;
    this.#wiped = true;
    this.#prepared.destroy();
    this.#dk.fill(0);
    for (const k of this.#indexKeys.values()) k.fill(0);
    this.#indexKeys.clear();
  }

  toJSON(): { keyId: string; purpose: string } {
    return { keyId: this.info.id, purpose: this.info.purpose };
  }

  [inspect.custom](): string {
    return `KeyMaterial { keyId: '${this.info.id}', purpose: '${this.info.purpose}' }`;
  }
}
