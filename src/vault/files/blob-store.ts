import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isUuid, newId } from '../../shared/ids.js';
import { vaultFileErrors } from './errors.js';

/** Options of BlobStore.put. */
export interface BlobPutOptions {
  /** A blob id made by newBlobId() beforehand (when the id must be bound into the content first); default a new one. */
  id?: string;
  /** Fail with VAULT_FILE_TOO_LARGE (413) and keep nothing once the stored bytes exceed this. */
  maxBytes?: number;
}

/** What put stored. */
export interface BlobPutResult {
  id: string;
  /** Bytes stored. */
  bytes: number;
}

/**
 * Where opaque (already encrypted) file contents live. Ids are random UUIDv7s,
 * never derived from content or names. A put is all-or-nothing: a failed or
 * oversized put leaves nothing behind, and a blob is never overwritten. Only
 * the local filesystem store exists today; an S3-compatible store would
 * implement this same interface.
 */
export interface BlobStore {
  /** Streams `source` into a new blob; resolves once it is durable (fsynced and in place). */
  put(source: Readable | AsyncIterable<Uint8Array>, options?: BlobPutOptions): Promise<BlobPutResult>;
  /** A stream of the blob's bytes; VAULT_BLOB_NOT_FOUND (404) when absent. */
  get(id: string): Promise<Readable>;
  /** Deletes the blob; false when there was none. */
  delete(id: string): Promise<boolean>;
  exists(id: string): Promise<boolean>;
}

/** A new random blob id (UUIDv7). */
export function newBlobId(): string {
  return newId();
}

/** The default blob directory under a data directory: `<dataDir>/blobs`. */
export function blobDirFor(dataDir: string): string {
  return path.join(dataDir, 'blobs');
}

/** Options of createLocalBlobStore. */
export interface LocalBlobStoreOptions {
  /** Directory of the blobs (created 0700 if missing); see blobDirFor(dataDir). */
  dir: string;
}

/** The local store, with its housekeeping. */
export interface LocalBlobStore extends BlobStore {
  readonly dir: string;
  /** Removes temporary files older than `olderThanMs` (left by a crash mid-put); returns how many. */
  sweepTemp(olderThanMs?: number): Promise<number>;
}

const TMP = '.tmp';
const WRITE_BATCH = 1024 * 1024;

function checkId(id: string): string {
  if (typeof id !== 'string' || !isUuid(id)) throw vaultFileErrors.blobIdInvalid();
  return id.toLowerCase();
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeBatch(fh: FileHandle, batch: Uint8Array[], expected: number): Promise<void> {
  const { bytesWritten } = await fh.writev(batch);
  if (bytesWritten !== expected) throw new Error(`short write to a blob (${bytesWritten} of ${expected} bytes)`);
}

function isCode(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === code;
}

/**
 * A BlobStore on the local filesystem: `<dir>/<last two hex digits>/<id>`,
 * files 0600. A put writes `<dir>/.tmp/<id>.<random>`, fsyncs it, links it
 * into place (link refuses to overwrite) and fsyncs the directory; on any
 * error, or once `maxBytes` is exceeded, the temporary file is deleted.
 * Opening the store removes temporary files older than an hour.
 */
export async function createLocalBlobStore(options: LocalBlobStoreOptions): Promise<LocalBlobStore> {
  const dir = path.resolve(options.dir);
  const tmpDir = path.join(dir, TMP);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const fileOf = (id: string): string => path.join(dir, id.slice(-2), id);

  async function writeAll(fh: FileHandle, source: Readable | AsyncIterable<Uint8Array>, maxBytes: number): Promise<number> {
    let bytes = 0;
    // One writev per ~1 MiB: a write per 64 KiB chunk costs a thread-pool round trip each.
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw vaultFileErrors.tooLarge(maxBytes);
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= WRITE_BATCH) {
        await writeBatch(fh, batch, batchBytes);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await writeBatch(fh, batch, batchBytes);
    await fh.sync();
    return bytes;
  }

  async function put(source: Readable | AsyncIterable<Uint8Array>, opts: BlobPutOptions = {}): Promise<BlobPutResult> {
    const id = checkId(opts.id ?? newBlobId());
    const tmp = path.join(tmpDir, `${id}.${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    let bytes: number;
    try {
      bytes = await writeAll(fh, source, opts.maxBytes ?? Number.MAX_SAFE_INTEGER);
      await fh.close();
      const final = fileOf(id);
      await mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      try {
        await link(tmp, final);
      } catch (e) {
        if (isCode(e, 'EEXIST')) throw vaultFileErrors.blobExists(id);
        throw e;
      }
      await syncDir(path.dirname(final));
    } catch (e) {
      await fh.close().catch(() => undefined);
      if (typeof (source as Readable).destroy === 'function') (source as Readable).destroy();
      await rm(tmp, { force: true });
      throw e;
    }
    await unlink(tmp);
    return { id, bytes };
  }

  async function get(id: string): Promise<Readable> {
    const key = checkId(id);
    try {
      const fh = await open(fileOf(key), 'r');
      return fh.createReadStream({ autoClose: true });
    } catch (e) {
      if (isCode(e, 'ENOENT')) throw vaultFileErrors.blobNotFound(key);
      throw e;
    }
  }

  async function del(id: string): Promise<boolean> {
    const key = checkId(id);
    try {
      await unlink(fileOf(key));
    } catch (e) {
      if (isCode(e, 'ENOENT')) return false;
      throw e;
    }
    await syncDir(path.dirname(fileOf(key)));
    return true;
  }

  async function exists(id: string): Promise<boolean> {
    try {
      return (await stat(fileOf(checkId(id)))).isFile();
    } catch (e) {
      if (isCode(e, 'ENOENT')) return false;
      throw e;
    }
  }

  async function sweepTemp(olderThanMs = 60 * 60 * 1000): Promise<number> {
    let n = 0;
    for (const name of await readdir(tmpDir)) {
      const p = path.join(tmpDir, name);
      const st = await stat(p).catch(() => null);
      if (st !== null && Date.now() - st.mtimeMs > olderThanMs) {
        await rm(p, { force: true });
        n += 1;
      }
    }
    return n;
  }

  // Leftovers of a crash mid-put; an hour old at least, so another process's put in flight is left alone.
  await sweepTemp().catch(() => 0);
  return { dir, put, get, delete: del, exists, sweepTemp };
}
