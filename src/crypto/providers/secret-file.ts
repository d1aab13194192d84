import { randomBytes } from 'node:crypto';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cryptoError, KeyErrorCode } from '../errors.js';

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

/**
 * Reads a secret-bearing file (key file, PIN file) after checking that it is
 * a regular file not readable or writable by group or others (like ssh with
 * private keys). Returns null if it does not exist; throws
 * KEY_KEYFILE_PERMISSIONS if it is unsafe, naming the path and mode only.
 */
export async function readProtectedFile(path: string, what: string): Promise<Buffer | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
  try {
    // fstat the open handle: the file checked is the file read (no swap in between).
    const st = await fh.stat();
    if (!st.isFile()) {
      throw cryptoError(KeyErrorCode.KEYFILE_PERMISSIONS, `${what} ${path} is not a regular file`);
    }
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw cryptoError(
        KeyErrorCode.KEYFILE_PERMISSIONS,
        `${what} ${path} has mode ${mode}: it must not be accessible by group or others (chmod 600)`,
      );
    }
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeTemp(path: string, data: string | Buffer, mode: number): Promise<string> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return tmp;
}

/**
 * Durably creates `path` with `data` (mode 0600 by default) only if it does
 * not exist: write temp, fsync, link (fails if the target exists), unlink
 * temp, fsync directory. Returns false (and leaves nothing behind) if
 * `path` already existed.
 */
export async function writeFileExclusive(path: string, data: string | Buffer, mode = 0o600): Promise<boolean> {
  const tmp = await writeTemp(path, data, mode);
  try {
    await link(tmp, path);
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dirname(path));
  return true;
}

/**
 * Durably replaces `path` with `data`: write temp, fsync, rename over the
 * target, fsync directory. Readers see the old or the new file, never a mix.
 */
export async function writeFileReplace(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = await writeTemp(path, data, mode);
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** True if `path` exists (any file type). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}
