// Looks inside zip archives (and so inside docx/xlsx, which are zips) for
// executables and scripts, within limits that defeat zip bombs: entry count,
// declared and actual decompressed bytes, compression ratio, nesting depth.
// Only the first bytes of each entry are decompressed, except nested zips.
import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { executableMagic, EXECUTABLE_EXTENSIONS, extensionOf, scriptKind } from './detect.js';
import { isCustosError } from '../../shared/errors.js';
import { vaultFileErrors } from './errors.js';

/** Zip-bomb and depth limits. */
export interface ZipLimits {
  /** Entries per archive, nested archives included (default 2000). */
  maxEntries: number;
  /** Sum of declared uncompressed sizes, nested archives included (default 256 MiB). */
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio of an entry over 1 MiB (default 200). */
  maxRatio: number;
  /** Archive levels (default 2: a zip in a zip is looked into, a third level is refused). */
  maxDepth: number;
  /** Bytes of one nested archive decompressed to look into it (default 32 MiB). */
  maxNestedBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 2000,
  maxUncompressedBytes: 256 * 1024 * 1024,
  maxRatio: 200,
  maxDepth: 2,
  maxNestedBytes: 32 * 1024 * 1024,
};

/** What an accepted archive holds, by structure (never names). */
export interface ZipSummary {
  entries: number;
  /** Office Open XML container recognised by its parts, or null for a plain zip. */
  container: 'docx' | 'xlsx' | 'pptx' | null;
}

const HEAD_BYTES = 4100;
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const ARCHIVE_EXTENSIONS = new Set(['.zip', '.docx', '.xlsx', '.pptx', '.odt', '.ods', '.odp', '.epub']);
const TEXT_ENTRY_EXTENSIONS = new Set(['', '.txt', '.csv', '.log', '.md', '.cfg', '.conf', '.ini']);

interface Budget {
  entries: number;
  uncompressed: number;
}

/** True when `head` starts like a zip archive (local file header or empty-archive end record). */
export function isZip(head: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => head[i] === b) || (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x05 && head[3] === 0x06);
}

async function readUpTo(stream: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer);
      n += (chunk as Buffer).length;
      if (n >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts);
}

function where(index: number, depth: number): string {
  return depth === 0 ? `zip entry #${index}` : `zip entry #${index} of a nested archive`;
}

function checkDeclared(entry: Entry, index: number, depth: number, budget: Budget, limits: ZipLimits): void {
  budget.entries += 1;
  if (budget.entries > limits.maxEntries) throw vaultFileErrors.archiveUnsafe(`more than ${limits.maxEntries} entries`);
  budget.uncompressed += entry.uncompressedSize;
  if (budget.uncompressed > limits.maxUncompressedBytes) {
    throw vaultFileErrors.archiveUnsafe(`more than ${limits.maxUncompressedBytes} bytes uncompressed`);
  }
  const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
  if (entry.uncompressedSize > 1024 * 1024 && ratio > limits.maxRatio) {
    throw vaultFileErrors.archiveUnsafe(`compression ratio over ${limits.maxRatio} (${where(index, depth)})`);
  }
  if (entry.isEncrypted()) throw vaultFileErrors.archiveUnsafe(`encrypted entry (${where(index, depth)})`);
  const ext = extensionOf(entry.fileName);
  if (EXECUTABLE_EXTENSIONS.has(ext)) throw vaultFileErrors.executable(`${ext} file (${where(index, depth)})`);
}

async function checkEntry(zip: ZipFile, entry: Entry, index: number, depth: number, budget: Budget, limits: ZipLimits): Promise<void> {
  checkDeclared(entry, index, depth, budget, limits);
  if (entry.fileName.endsWith('/') || entry.uncompressedSize === 0) return;
  const ext = extensionOf(entry.fileName);
  const head = await readUpTo(await zip.openReadStreamPromise(entry), HEAD_BYTES);
  const magic = executableMagic(head);
  if (magic !== null) throw vaultFileErrors.executable(`${magic} (${where(index, depth)})`);
  if (isZip(head) || ARCHIVE_EXTENSIONS.has(ext)) {
    if (depth + 1 >= limits.maxDepth) throw vaultFileErrors.archiveUnsafe(`archives nested more than ${limits.maxDepth} deep`);
    if (entry.uncompressedSize > limits.maxNestedBytes) throw vaultFileErrors.archiveUnsafe(`nested archive over ${limits.maxNestedBytes} bytes`);
    const inner = await readUpTo(await zip.openReadStreamPromise(entry), limits.maxNestedBytes + 1);
    await walk(inner, depth + 1, budget, limits);
    return;
  }
  if (TEXT_ENTRY_EXTENSIONS.has(ext) && !head.includes(0)) {
    const kind = scriptKind(head.toString('utf8'));
    if (kind !== null) throw vaultFileErrors.executable(`${kind} (${where(index, depth)})`);
  }
}

function containerOf(names: Set<string>): ZipSummary['container'] {
  if (!names.has('[Content_Types].xml')) return null;
  if (names.has('word/document.xml')) return 'docx';
  if (names.has('xl/workbook.xml')) return 'xlsx';
  if (names.has('ppt/presentation.xml')) return 'pptx';
  return null;
}

async function walk(buf: Buffer, depth: number, budget: Budget, limits: ZipLimits): Promise<ZipSummary> {
  let zip: ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(buf, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: false });
  } catch {
    throw vaultFileErrors.archiveUnsafe(depth === 0 ? 'malformed zip archive' : 'malformed nested zip archive');
  }
  if (zip.entryCount > limits.maxEntries) throw vaultFileErrors.archiveUnsafe(`more than ${limits.maxEntries} entries`);
  const names = new Set<string>();
  let index = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      index += 1;
      names.add(entry.fileName);
      await checkEntry(zip, entry, index, depth, budget, limits);
    }
  } catch (e) {
    if (isCustosError(e)) throw e;
    // yauzl refuses traversal paths, bad sizes and broken structures with plain errors.
    throw vaultFileErrors.archiveUnsafe(`malformed or unsafe zip structure at entry #${index}`);
  } finally {
    zip.close();
  }
  return { entries: index, container: containerOf(names) };
}

/**
 * Looks into a whole zip archive held in memory. Throws VAULT_UPLOAD_EXECUTABLE
 * (422) for an executable or script entry (by extension, magic bytes, shebang
 * or script signs), VAULT_UPLOAD_ARCHIVE_UNSAFE (422) when a limit is passed,
 * an entry is encrypted or a path escapes, or the archive is malformed.
 */
export async function inspectZip(buf: Buffer, limits: Partial<ZipLimits> = {}): Promise<ZipSummary> {
  return walk(buf, 0, { entries: 0, uncompressed: 0 }, { ...DEFAULT_ZIP_LIMITS, ...limits });
}
