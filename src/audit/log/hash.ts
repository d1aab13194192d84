/**
 * SHA-256 primitives of RFC 6962 / RFC 9162 §2.1.1 (leaf prefix 0x00, node
 * prefix 0x01). Two representations:
 *  - Buffer in, Buffer out: the public API;
 *  - "binary strings" (32 latin1 characters, one per byte; Node's 'binary'
 *    encoding is latin1): the hot path of the verifier and the compact
 *    range. node:crypto's one-shot `hash()` costs about five times less per
 *    call when it returns a string than when it returns a Buffer, and the
 *    verifier makes two calls per entry.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

/** Size in bytes of every hash in the tree. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
/** Events larger than this are hashed by streaming instead of copying into the scratch buffer. */
const MAX_SCRATCH = 1 << 20;

// Single-threaded and synchronous between write and hash, so one scratch buffer is safe.
let leafScratch = Buffer.alloc(4096);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). Do not mutate. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();
/** Internal: the same, as an immutable binary string (what the tree code uses). */
export const EMPTY_ROOT_BINARY: string = EMPTY_ROOT.toString('latin1');

/** Internal: leaf hash of `data` as a 32-character latin1 string. */
export function leafHashBinary(data: Uint8Array): string {
  const n = data.length + 1;
  if (n > MAX_SCRATCH) {
    return createHash('sha256').update(LEAF_PREFIX).update(data).digest('binary');
  }
  if (n > leafScratch.length) {
    let size = leafScratch.length;
    while (size < n) size *= 2;
    leafScratch = Buffer.alloc(size);
  }
  leafScratch[0] = 0x00;
  leafScratch.set(data, 1);
  return oneShotHash('sha256', leafScratch.subarray(0, n), 'binary');
}

/**
 * Internal: leaf hash of data[start + 1, end) as a latin1 string, hashed in
 * place: data[start] is a spare byte that is overwritten with the leaf
 * prefix, so no copy is made (packed entry runs, see verify.ts).
 */
export function leafHashInPlace(data: Buffer, start: number, end: number): string {
  data[start] = 0x00;
  // A plain view: Buffer#subarray builds a Buffer through the species constructor (~0.1 us more per entry).
  return oneShotHash('sha256', new Uint8Array(data.buffer, data.byteOffset + start, end - start), 'binary');
}

/**
 * Internal: node hash of the two 32-byte hashes at bytes[start + 1, start + 65),
 * as a latin1 string, hashed in place: bytes[start] is borrowed for the node
 * prefix and put back (packed runs' stored leaf hashes, see verify.ts).
 */
export function nodeHashInPlace(bytes: Uint8Array, start: number): string {
  const saved = bytes[start] as number;
  bytes[start] = 0x01;
  const hash = oneShotHash('sha256', new Uint8Array(bytes.buffer, bytes.byteOffset + start, 1 + 2 * HASH_SIZE), 'binary');
  bytes[start] = saved;
  return hash;
}

/**
 * Internal: node hash of two 32-character latin1 strings, as a latin1 string.
 * One write of both (a cons string, not copied first) instead of two: each
 * Buffer#write is a native call that costs more than the 32-byte copy. The
 * 'ascii' encoding writes a string's one-byte characters unchanged, as
 * 'latin1' does (Buffer docs: "when encoding a string into a Buffer, this is
 * equivalent to using 'latin1'"), and takes write()'s shorter path.
 */
export function nodeHashBinary(left: string, right: string): string {
  nodeScratch.write(left + right, 1, 2 * HASH_SIZE, 'ascii');
  return oneShotHash('sha256', nodeScratch, 'binary');
}

/** Internal: bytes (a 32-byte hash) as a latin1 binary string. */
export function toBinary(hash: Uint8Array): string {
  if (Buffer.isBuffer(hash)) return hash.toString('latin1');
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('latin1');
}

/** Internal: a latin1 binary string back to a Buffer. */
export function fromBinary(hash: string): Buffer {
  return Buffer.from(hash, 'latin1');
}

/** RFC 6962 leaf hash: SHA-256(0x00 || data). Any length of data. */
export function leafHash(data: Uint8Array): Buffer {
  return fromBinary(leafHashBinary(data));
}

/**
 * RFC 6962 interior node hash: SHA-256(0x01 || left || right). Inputs are
 * normally 32-byte hashes; other lengths are hashed as given (the RFC's
 * definition), which callers that need 32 bytes must check themselves.
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 1 + HASH_SIZE);
    return oneShotHash('sha256', nodeScratch, 'buffer');
  }
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** True when `value` is a byte array of exactly HASH_SIZE bytes. */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}
