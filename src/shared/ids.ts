import { randomFillSync } from 'node:crypto';
import { validate, version } from 'uuid';

const POOL_BYTES = 16 * 256;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

/** Time of the last id and its 31-bit counter (uuid's v7 state, kept here). */
let lastMs = -Infinity;
let seq = 0;

/**
 * A new UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, version 7, then a
 * 31-bit counter seeded at random each millisecond and incremented within it
 * (so ids of one process sort in creation order; a wrapped counter borrows
 * the next millisecond), 2 variant bits and 42 random bits: the uuid
 * package's v7 layout, bit for bit. Random bytes come from a pooled buffer
 * refilled by the CSPRNG 256 ids at a time (each byte used once) instead of
 * one getRandomValues call per id. Time-ordered, so inserts stay local in B-trees.
 */
export function newId(): string {
  if (offset === POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += 16;
  const now = Date.now();
  if (now > lastMs) {
    seq = ((pool[r + 6]! & 0x7f) << 24) | (pool[r + 7]! << 16) | (pool[r + 8]! << 8) | pool[r + 9]!;
    lastMs = now;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  return formatV7(lastMs, seq, pool, r);
}

/** The UUIDv7 text for `ms`, counter `seq` and the random bytes at `random[at + 10 .. at + 15]` (uuid's v7Bytes, then its stringify). */
export function formatV7(ms: number, seq: number, random: Uint8Array, at: number): string {
  return (
    HEX[(ms / 0x10000000000) & 0xff]! +
    HEX[(ms / 0x100000000) & 0xff]! +
    HEX[(ms / 0x1000000) & 0xff]! +
    HEX[(ms / 0x10000) & 0xff]! +
    '-' +
    HEX[(ms / 0x100) & 0xff]! +
    HEX[ms & 0xff]! +
    '-' +
    HEX[0x70 | ((seq >>> 28) & 0x0f)]! +
    HEX[(seq >>> 20) & 0xff]! +
    '-' +
    HEX[0x80 | ((seq >>> 14) & 0x3f)]! +
    HEX[(seq >>> 6) & 0xff]! +
    '-' +
    HEX[((seq << 2) & 0xff) | (random[at + 10]! & 0x03)]! +
    HEX[random[at + 11]!]! +
    HEX[random[at + 12]!]! +
    HEX[random[at + 13]!]! +
    HEX[random[at + 14]!]! +
    HEX[random[at + 15]!]!
  );
}

/** True for a syntactically valid UUID of any version. */
export function isUuid(value: string): boolean {
  return validate(value) && version(value) >= 1;
}
