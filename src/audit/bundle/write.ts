/**
 * Writes export and archive bundles (format.ts). The file appears only when
 * complete: written to `<out>.partial`, fsynced, renamed; an existing `out`
 * is never overwritten.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Db } from '../../db/index.js';
import { auditLogError } from '../errors.js';
import { consistencyProof, inclusionProof, loadTreeState } from '../log/index.js';
import { entryPage, latestCheckpoint, listEntries, nodeReader, type CheckpointRow } from '../store.js';
import { BUNDLE_FORMAT, type BundleEntry, type BundleHeader } from './format.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const PAGE = 500;

/** Line-by-line writer of one bundle file; `sha256` is the digest of everything written. */
class BundleFile {
  readonly #fd: number;
  readonly #hash = createHash('sha256');
  readonly partial: string;
  constructor(readonly out: string) {
    if (existsSync(out)) throw auditLogError('FILE_UNUSABLE', `${out} already exists; choose another --out`);
    this.partial = `${out}.partial`;
    this.#fd = openSync(this.partial, 'wx', 0o600);
  }
  line(value: object): void {
    const text = `${JSON.stringify(value)}\n`;
    this.#hash.update(text);
    writeSync(this.#fd, text);
  }
  finish(): string {
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    renameSync(this.partial, this.out);
    return this.#hash.digest('hex');
  }
  abort(): void {
    try {
      closeSync(this.#fd);
    } finally {
      rmSync(this.partial, { force: true });
    }
  }
}

async function withFile<T>(out: string, fn: (file: BundleFile) => Promise<T>): Promise<T & { sha256: string }> {
  const file = new BundleFile(out);
  try {
    const result = await fn(file);
    return { ...result, sha256: file.finish() };
  } catch (e) {
    file.abort();
    throw e;
  }
}

export interface BundleContext {
  db: Db;
  origin: string;
  /** The C2SP verifier key that signed `note` (embedded in the bundle). */
  verifierKeyFor: (note: string) => string;
  now: Date;
}

async function checkpointOf(db: Db): Promise<CheckpointRow> {
  const cp = await db.read((tx) => latestCheckpoint(tx));
  if (!cp) throw auditLogError('CHECKPOINT_NOT_FOUND', 'no checkpoint has been signed yet: nothing can be proven');
  return cp;
}

/**
 * Export bundle: entries recorded in [from, to) (optionally one tenant's),
 * each with its inclusion proof in the latest checkpoint's tree. Entries
 * after that checkpoint are not included (they cannot be proven yet).
 */
export async function writeExport(
  ctx: BundleContext,
  sel: { from: string; to: string; tenant?: string | undefined; out: string },
): Promise<{ count: number; size: number; sha256: string }> {
  const cp = await checkpointOf(ctx.db);
  const size = Number(cp.size);
  const filter = { from: sel.from, to: sel.to, tenantId: sel.tenant };
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    kind: 'export',
    origin: ctx.origin,
    verifierKey: ctx.verifierKeyFor(cp.note),
    checkpoint: cp.note,
    createdAt: ctx.now.toISOString(),
    count: await countSelection(ctx.db, filter, size),
    selection: { from: sel.from, to: sel.to, tenant: sel.tenant ?? null },
  };
  return withFile(sel.out, async (file) => {
    file.line(header);
    let count = 0;
    for (let after: number | undefined; ; ) {
      const rows = await ctx.db.read((tx) => listEntries(tx, filter, { after, order: 'asc', limit: PAGE }));
      const page = rows.filter((r) => Number(r.idx) < size);
      for (const row of page) {
        const index = Number(row.idx);
        const proof = await ctx.db.read((tx) => inclusionProof(nodeReader(tx), index, size));
        file.line({ index, event: row.event, proof: proof.map(b64) } satisfies BundleEntry);
        count++;
      }
      if (rows.length < PAGE || page.length < rows.length) break;
      after = Number(rows[rows.length - 1]?.idx);
    }
    file.line({ end: true, count });
    return { count, size };
  });
}

async function countSelection(db: Db, filter: { from: string; to: string; tenantId?: string | undefined }, size: number): Promise<number> {
  let count = 0;
  for (let after: number | undefined; ; ) {
    const rows = await db.read((tx) => listEntries(tx, filter, { after, order: 'asc', limit: 5000 }));
    count += rows.filter((r) => Number(r.idx) < size).length;
    if (rows.length < 5000 || Number(rows[rows.length - 1]?.idx) >= size) return count;
    after = Number(rows[rows.length - 1]?.idx);
  }
}

/**
 * Archive bundle of [start, end): every entry, the compact range of [0, start)
 * and a consistency proof from end to the latest checkpoint (which must cover end).
 */
export async function writeArchive(
  ctx: BundleContext,
  range: { start: number; end: number; cutoff: string; retentionDays: number; out: string },
): Promise<{ count: number; sha256: string }> {
  const cp = await checkpointOf(ctx.db);
  const size = Number(cp.size);
  if (range.end > size || range.start >= range.end) throw auditLogError('QUERY_INVALID', `no archive range [${range.start}, ${range.end}) within ${size}`);
  const { prefix, consistency } = await ctx.db.read(async (tx) => {
    const reader = nodeReader(tx);
    const state = await loadTreeState(reader, range.start);
    return { prefix: state.frontier.map(b64), consistency: range.end === size ? [] : (await consistencyProof(reader, range.end, size)).map(b64) };
  });
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    kind: 'archive',
    origin: ctx.origin,
    verifierKey: ctx.verifierKeyFor(cp.note),
    checkpoint: cp.note,
    createdAt: ctx.now.toISOString(),
    count: range.end - range.start,
    range: { start: range.start, end: range.end },
    prefix,
    consistency,
    cutoff: range.cutoff,
    retentionDays: range.retentionDays,
  };
  return withFile(range.out, async (file) => {
    file.line(header);
    let count = 0;
    for (let next = range.start; next < range.end; ) {
      const rows = await ctx.db.read((tx) => entryPage(tx, next, range.end, PAGE));
      if (rows.length === 0) break;
      for (const row of rows) file.line({ index: Number(row.idx), event: row.event } satisfies BundleEntry);
      count += rows.length;
      next = Number(rows[rows.length - 1]?.idx) + 1;
    }
    if (count !== range.end - range.start) throw auditLogError('LOG_INCONSISTENT', `entries [${range.start}, ${range.end}) are incomplete in storage (${count} found)`);
    file.line({ end: true, count });
    return { count };
  });
}
