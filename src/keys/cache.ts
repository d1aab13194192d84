/** Something holding key material that can be wiped. */
export interface Wipeable {
  /** Zeroes the key material; later use must fail. */
  wipe(): void;
}

interface Slot<V> {
  value: V;
  expiresAt: number;
}

/**
 * A bounded, expiring map of unwrapped keys: at most `maxEntries`, each for
 * at most `ttlMs` after it was loaded. Least recently used entries go first.
 * Whatever leaves (evicted, expired, deleted, cleared) is wiped at once, so
 * key material never outlives its slot. Holds nothing it can print.
 */
export class KeyCache<V extends Wipeable> {
  readonly #slots = new Map<string, Slot<V>>();
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** The most recently used key (already at the end of the map's order). */
  #last: string | undefined;

  constructor(opts: { maxEntries: number; ttlMs: number; now: () => number }) {
    this.#max = Math.max(1, opts.maxEntries);
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The live value for `key`, refreshed as most recently used; undefined if absent or expired. */
  get(key: string): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.#now()) {
      this.delete(key);
      return undefined;
    }
    if (key !== this.#last) {
      this.#slots.delete(key);
      this.#slots.set(key, slot);
      this.#last = key;
    }
    return slot.value;
  }

  /** Stores `value` (wiping any value it replaces) and evicts the least recently used beyond the bound. */
  set(key: string, value: V): void {
    const old = this.#slots.get(key);
    if (old !== undefined && old.value !== value) old.value.wipe();
    this.#slots.delete(key);
    this.#slots.set(key, { value, expiresAt: this.#now() + this.#ttlMs });
    this.#last = key;
    while (this.#slots.size > this.#max) {
      const oldest = this.#slots.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    if (key === this.#last) this.#last = undefined;
    slot.value.wipe();
  }

  /** Drops and wipes every entry matching `pred` (or all). */
  clear(pred?: (key: string, value: V) => boolean): void {
    for (const [key, slot] of [...this.#slots]) {
      if (pred === undefined || pred(key, slot.value)) this.delete(key);
    }
  }

  toJSON(): { size: number } {
    return { size: this.#slots.size };
  }
}
