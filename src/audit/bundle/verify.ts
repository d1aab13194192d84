/**
 * Offline verification of a bundle (format.ts) with nothing but the file and
 * a trusted verifier key: the checkpoint's signature, then every entry — by
 * its inclusion proof (export) or by rebuilding the range onto the prefix and
 * proving it consistent with the checkpoint (archive) — and the counts.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isCustosError } from '../../shared/errors.js';
import { auditLogError } from '../errors.js';
import { CompactRange, leafHash, openCheckpoint, parseVerifierKey, verifyConsistency, verifyInclusion, type NoteVerifier } from '../log/index.js';
import { BUNDLE_FORMAT, type BundleEntry, type BundleHeader } from './format.js';

export type BundleVerdict =
  | { ok: true; kind: 'export' | 'archive'; count: number; checkpointSize: number; range?: { start: number; end: number } | undefined; keyPinned: boolean }
  | { ok: false; line: number; index: number | undefined; detail: string };

const bytes = (b64: unknown): Buffer | undefined => (typeof b64 === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : undefined);
const hashes = (list: unknown): Buffer[] | undefined => {
  if (!Array.isArray(list)) return undefined;
  const out = list.map(bytes);
  return out.every((b): b is Buffer => b !== undefined && b.length === 32) ? out : undefined;
};

function readHeader(line: string | undefined): BundleHeader {
  let header: BundleHeader;
  try {
    header = JSON.parse(line ?? '') as BundleHeader;
  } catch {
    throw auditLogError('BUNDLE_MALFORMED', 'not a Custos audit bundle (the first line is not JSON)');
  }
  if (header?.format !== BUNDLE_FORMAT || (header.kind !== 'export' && header.kind !== 'archive')) {
    throw auditLogError('BUNDLE_MALFORMED', `not a ${BUNDLE_FORMAT} bundle`);
  }
  return header;
}

type Bad = Extract<BundleVerdict, { ok: false }>;
const bad = (line: number, index: number | undefined, detail: string): Bad => ({ ok: false, line, index, detail });

/** Checks each entry line as it streams past; `end` checks what only the whole range can show. */
function entryChecker(header: BundleHeader, size: number, root: Buffer) {
  const range = header.range;
  const prefix = hashes(header.prefix);
  const tree = header.kind === 'archive' && range && prefix ? new CompactRange({ size: range.start, frontier: prefix }) : undefined;
  let last = -1;
  return {
    check(entry: BundleEntry, line: number): Bad | undefined {
      if (typeof entry.event !== 'string' || !Number.isSafeInteger(entry.index) || entry.index < 0) return bad(line, undefined, 'malformed entry line');
      if (entry.index <= last) return bad(line, entry.index, `index ${entry.index} after ${last}: duplicated or out of order`);
      const leaf = leafHash(Buffer.from(entry.event, 'utf8'));
      if (tree) {
        if (entry.index !== tree.size) return bad(line, entry.index, `expected entry ${tree.size}, found ${entry.index}: missing entry`);
        tree.append(leaf);
      } else if (!verifyInclusion(leaf, entry.index, size, hashes(entry.proof) ?? [], root)) {
        return bad(line, entry.index, `entry ${entry.index} is not in the checkpoint's tree (changed entry or bad proof)`);
      }
      last = entry.index;
      return undefined;
    },
    end(line: number): Bad | undefined {
      if (!tree || !range) return undefined;
      if (tree.size !== range.end) return bad(line, tree.size, `the archive ends at ${tree.size}, not at ${range.end}`);
      const proof = hashes(header.consistency) ?? [];
      const ok = range.end === size ? proof.length === 0 && tree.root().equals(root) : verifyConsistency(range.end, size, proof, tree.root(), root);
      return ok ? undefined : bad(line, range.start, `entries [${range.start}, ${range.end}) are not the log's (changed, inserted or reordered entries, or a bad prefix)`);
    },
  };
}

/**
 * Verifies the bundle at `file`. `trusted` are the log keys to trust; without
 * it the key embedded in the bundle is used (then `keyPinned` is false:
 * that proves integrity, not origin). Throws AUDIT_BUNDLE_MALFORMED /
 * AUDIT_FILE_UNUSABLE when the file cannot be read as a bundle.
 */
export async function verifyBundle(file: string, trusted?: readonly NoteVerifier[]): Promise<BundleVerdict> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const failed = new Promise<never>((_, reject) =>
    stream.on('error', (e: NodeJS.ErrnoException) => reject(auditLogError('FILE_UNUSABLE', `cannot read ${file}: ${e.code ?? 'error'}`))),
  );
  const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const next = async () => (await Promise.race([lines.next(), failed])).value as string | undefined;
  try {
    const header = readHeader(await next());
    const verifiers = trusted ?? [parseVerifierKey(header.verifierKey)];
    let cp;
    try {
      cp = openCheckpoint(header.checkpoint, verifiers, header.origin);
    } catch (e) {
      return bad(1, undefined, `the bundle's checkpoint does not verify: ${isCustosError(e) ? e.message : String(e)}`);
    }
    if (header.kind === 'archive' && (!header.range || !hashes(header.prefix))) return bad(1, undefined, 'an archive header needs its range and prefix');
    const checker = entryChecker(header, cp.size, cp.root);
    let count = 0;
    for (let n = 2; ; n++) {
      const text = await next();
      if (text === undefined) return bad(n, undefined, 'the bundle ends without its trailer line: truncated');
      let value: BundleEntry & { end?: boolean; count?: number };
      try {
        value = JSON.parse(text) as typeof value;
      } catch {
        return bad(n, undefined, `line ${n} is not JSON`);
      }
      if (value.end === true) {
        if (value.count !== count || header.count !== count) return bad(n, undefined, `the bundle holds ${count} entries but says ${header.count}`);
        const fault = checker.end(n);
        if (fault) return fault;
        return { ok: true, kind: header.kind, count, checkpointSize: cp.size, range: header.range, keyPinned: trusted !== undefined };
      }
      const fault = checker.check(value, n);
      if (fault) return fault;
      count++;
    }
  } finally {
    stream.destroy();
  }
}
