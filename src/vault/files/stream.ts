// STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015, as used by
// age and Tink's streaming AEAD) over AES-256-GCM: a file is cut into
// fixed-size chunks, each sealed with nonce = prefix(7) | counter(4) | last(1).
// Dropping, reordering, duplicating or swapping chunks (even between files
// under one key) changes a nonce and fails; cutting the file at a chunk
// boundary leaves a last chunk not sealed as last and fails too.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { vaultFileErrors } from './errors.js';

/** First bytes of every sealed file: "CSTF" (Custos sealed file). */
export const FILE_MAGIC = Buffer.from('CSTF', 'latin1');
/** Format version 1 (the byte after the magic). */
export const FILE_FORMAT_V1 = 0x01;
const PREFIX_LEN = 7;
const COMMIT_LEN = 32;
const TAG_LEN = 16;
/** magic(4) | version(1) | log2 chunk size(1) | nonce prefix(7) | key commitment(32). */
export const FILE_HEADER_LEN = 4 + 1 + 1 + PREFIX_LEN + COMMIT_LEN;
const SALT_LEN = FILE_HEADER_LEN - COMMIT_LEN;
/** Default plaintext bytes per chunk (64 KiB). */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
const MIN_CHUNK_LOG = 10;
const MAX_CHUNK_LOG = 24;
const MAX_CHUNKS = 2 ** 32;
const INFO_ENC = 'custos/v1/file-stream';
const INFO_COMMIT = 'custos/v1/file-commit';

/** Totals of a sealed stream, known once it ended. */
export interface SealSummary {
  /** SHA-256 of the plaintext, lower-case hex. */
  sha256: string;
  /** Plaintext bytes. */
  size: number;
  /** Bytes written (header, chunks and tags). */
  sealedSize: number;
}

function derive(key: Uint8Array, salt: Buffer, info: string, aad: Uint8Array): Buffer {
  // Node caps HKDF info at 1024 bytes and a context may be longer: bind its hash.
  const aadHash = createHash('sha256').update(aad).digest();
  return Buffer.from(hkdfSync('sha256', key, salt, Buffer.concat([Buffer.from(info), aadHash]), 32));
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('file content key must be 32 bytes');
}

function chunkLog(chunkSize: number): number {
  const log = Math.log2(chunkSize);
  if (!Number.isInteger(log) || log < MIN_CHUNK_LOG || log > MAX_CHUNK_LOG) {
    throw new TypeError(`chunk size must be a power of two between 2^${MIN_CHUNK_LOG} and 2^${MAX_CHUNK_LOG}`);
  }
  return log;
}

function nonce(prefix: Buffer, counter: number, last: boolean): Buffer {
  const n = Buffer.allocUnsafe(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(counter, PREFIX_LEN);
  n[11] = last ? 1 : 0;
  return n;
}

/** Options of createSealStream. */
export interface SealStreamOptions {
  /** Plaintext bytes per chunk, a power of two in [1 KiB, 16 MiB]; default 64 KiB. */
  chunkSize?: number;
  /** Fail with VAULT_FILE_TOO_LARGE (413) once the plaintext exceeds this many bytes. */
  maxBytes?: number;
}

/**
 * A Transform that seals plaintext under `key` (32 random bytes, one per
 * file) bound to `aad` (the encoded encryption context), hashing and counting
 * the plaintext as it passes. `summary()` answers once the stream ended.
 * The key is not retained (the caller may zero it after this returns).
 */
export class SealStream extends Transform {
  readonly #encKey: Buffer;
  readonly #prefix: Buffer;
  readonly #header: Buffer;
  readonly #chunkSize: number;
  readonly #maxBytes: number;
  readonly #hash: Hash = createHash('sha256');
  #buf: Buffer;
  #fill = 0;
  #counter = 0;
  #size = 0;
  #sealed = 0;
  #headerSent = false;
  #summary: SealSummary | null = null;

  constructor(key: Uint8Array, aad: Uint8Array, options: SealStreamOptions = {}) {
    super();
    checkKey(key);
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.#maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const header = Buffer.alloc(FILE_HEADER_LEN);
    FILE_MAGIC.copy(header, 0);
    header[4] = FILE_FORMAT_V1;
    header[5] = chunkLog(this.#chunkSize);
    this.#prefix = randomBytes(PREFIX_LEN);
    this.#prefix.copy(header, 6);
    const salt = header.subarray(0, SALT_LEN);
    this.#encKey = derive(key, salt, INFO_ENC, aad);
    derive(key, salt, INFO_COMMIT, aad).copy(header, SALT_LEN);
    this.#header = header;
    this.#buf = Buffer.allocUnsafeSlow(this.#chunkSize);
  }

  /** Hash, size and sealed size; throws if the stream has not ended. */
  summary(): SealSummary {
    if (this.#summary === null) throw new Error('the seal stream has not finished');
    return this.#summary;
  }

  /** Seals the next chunk: `direct` when given, else the buffered bytes. */
  #emit(last: boolean, direct?: Buffer): void {
    const pt = direct ?? this.#buf.subarray(0, this.#fill);
    if (!this.#headerSent) {
      this.push(this.#header);
      this.#sealed += this.#header.length;
      this.#headerSent = true;
    }
    if (this.#counter >= MAX_CHUNKS) throw vaultFileErrors.tooLarge(this.#chunkSize * MAX_CHUNKS);
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, nonce(this.#prefix, this.#counter, last), { authTagLength: TAG_LEN });
    const ct = cipher.update(pt);
    cipher.final();
    this.#sealed += ct.length + TAG_LEN;
    if (ct.length > 0) this.push(ct);
    this.push(cipher.getAuthTag());
    this.#counter += 1;
    if (direct === undefined) this.#fill = 0;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (!Buffer.isBuffer(chunk)) chunk = Buffer.from(chunk as Uint8Array);
      this.#size += chunk.length;
      if (this.#size > this.#maxBytes) throw vaultFileErrors.tooLarge(this.#maxBytes);
      this.#hash.update(chunk);
      let at = 0;
      while (at < chunk.length) {
        // A full chunk is sealed only once more data arrives: the last chunk must be sealed as last.
        if (this.#fill === this.#chunkSize) this.#emit(false);
        if (this.#fill === 0 && chunk.length - at > this.#chunkSize) {
          // A whole chunk with more data behind it: seal it in place, without copying.
          this.#emit(false, chunk.subarray(at, at + this.#chunkSize));
          at += this.#chunkSize;
          continue;
        }
        const n = Math.min(chunk.length - at, this.#chunkSize - this.#fill);
        chunk.copy(this.#buf, this.#fill, at, at + n);
        this.#fill += n;
        at += n;
      }
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.#emit(true);
      this.#summary = { sha256: this.#hash.digest('hex'), size: this.#size, sealedSize: this.#sealed };
      this.#wipe();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#wipe();
    cb(err);
  }

  #wipe(): void {
    this.#encKey.fill(0);
    this.#buf.fill(0);
  }
}

/** Options of createOpenStream: the values recorded at upload, checked at the end. */
export interface OpenStreamOptions {
  expectedSha256?: string;
  expectedSize?: number;
}

/**
 * A Transform that opens a stream sealed by SealStream under the same key
 * and AAD. It pushes a chunk only after its tag verified, and fails with
 * VAULT_FILE_CORRUPT (500) at the first bad, missing, reordered or foreign
 * chunk, on truncation or trailing data, and before any chunk when the key
 * or AAD differ (the header's key commitment).
 */
export class OpenStream extends Transform {
  readonly #key: Buffer;
  readonly #aad: Buffer;
  readonly #expected: OpenStreamOptions;
  #encKey: Buffer | null = null;
  #prefix: Buffer | null = null;
  #sealedChunk = 0;
  #queue: Buffer[] = [];
  #queued = 0;
  #counter = 0;
  #size = 0;
  readonly #hash: Hash = createHash('sha256');

  constructor(key: Uint8Array, aad: Uint8Array, options: OpenStreamOptions = {}) {
    super();
    checkKey(key);
    this.#key = Buffer.from(key);
    this.#aad = Buffer.from(aad);
    this.#expected = options;
  }

  /** The next `n` queued bytes (copied only when they span several incoming buffers). */
  #take(n: number): Buffer {
    const first = this.#queue[0] as Buffer;
    this.#queued -= n;
    if (first.length >= n) {
      if (first.length === n) this.#queue.shift();
      else this.#queue[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let o = 0; o < n; ) {
      const b = this.#queue[0] as Buffer;
      const k = Math.min(b.length, n - o);
      b.copy(out, o, 0, k);
      o += k;
      if (k === b.length) this.#queue.shift();
      else this.#queue[0] = b.subarray(k);
    }
    return out;
  }

  #readHeader(): void {
    const h = this.#take(FILE_HEADER_LEN);
    if (!h.subarray(0, 4).equals(FILE_MAGIC)) throw vaultFileErrors.corrupt('not a Custos sealed file');
    if (h[4] !== FILE_FORMAT_V1) throw vaultFileErrors.version(h[4] as number);
    const log = h[5] as number;
    if (log < MIN_CHUNK_LOG || log > MAX_CHUNK_LOG) throw vaultFileErrors.corrupt('bad chunk size');
    const salt = Buffer.from(h.subarray(0, SALT_LEN));
    const commitment = derive(this.#key, salt, INFO_COMMIT, this.#aad);
    if (!timingSafeEqual(commitment, h.subarray(SALT_LEN, FILE_HEADER_LEN))) {
      throw vaultFileErrors.corrupt('the key or context is not the one the file was sealed under');
    }
    this.#encKey = derive(this.#key, salt, INFO_ENC, this.#aad);
    this.#key.fill(0);
    this.#prefix = Buffer.from(h.subarray(6, 6 + PREFIX_LEN));
    this.#sealedChunk = 2 ** log + TAG_LEN;
  }

  #openChunk(sealed: Buffer, last: boolean): void {
    if (this.#counter >= MAX_CHUNKS) throw vaultFileErrors.corrupt('too many chunks');
    const tagAt = sealed.length - TAG_LEN;
    const d = createDecipheriv('aes-256-gcm', this.#encKey as Buffer, nonce(this.#prefix as Buffer, this.#counter, last), {
      authTagLength: TAG_LEN,
    });
    d.setAuthTag(sealed.subarray(tagAt));
    const pt = d.update(sealed.subarray(0, tagAt));
    try {
      d.final();
    } catch {
      pt.fill(0); // never release unauthenticated plaintext
      throw vaultFileErrors.corrupt(`chunk ${this.#counter} failed authentication (altered, reordered, truncated or foreign)`);
    }
    this.#counter += 1;
    this.#size += pt.length;
    this.#hash.update(pt);
    if (pt.length > 0) this.push(pt);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (chunk.length > 0) this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#encKey === null) {
        if (this.#queued < FILE_HEADER_LEN) return done();
        this.#readHeader();
      }
      // Keep at least one byte beyond a full chunk: only the last chunk may be followed by the end.
      while (this.#queued > this.#sealedChunk) this.#openChunk(this.#take(this.#sealedChunk), false);
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.#encKey === null) {
        if (this.#queued >= FILE_HEADER_LEN) this.#readHeader();
        else throw vaultFileErrors.corrupt('truncated header');
      }
      if (this.#queued < TAG_LEN) throw vaultFileErrors.corrupt('truncated (no final chunk)');
      this.#openChunk(this.#take(this.#queued), true);
      this.#checkExpected();
      done();
    } catch (e) {
      done(e as Error);
    } finally {
      this.#wipe();
    }
  }

  #checkExpected(): void {
    const { expectedSha256, expectedSize } = this.#expected;
    if (expectedSize !== undefined && expectedSize !== this.#size) throw vaultFileErrors.corrupt('size differs from the recorded size');
    if (expectedSha256 !== undefined && expectedSha256.toLowerCase() !== this.#hash.digest('hex')) {
      throw vaultFileErrors.corrupt('SHA-256 differs from the recorded hash');
    }
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#wipe();
    cb(err);
  }

  #wipe(): void {
    this.#key.fill(0);
    this.#encKey?.fill(0);
  }
}

/** Seals plaintext under `key` bound to `aad`; see SealStream. */
export function createSealStream(key: Uint8Array, aad: Uint8Array, options?: SealStreamOptions): SealStream {
  return new SealStream(key, aad, options);
}

/** Opens a sealed stream under `key` and `aad`; see OpenStream. */
export function createOpenStream(key: Uint8Array, aad: Uint8Array, options?: OpenStreamOptions): OpenStream {
  return new OpenStream(key, aad, options);
}
