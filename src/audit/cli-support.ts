/**
 * What the `custos audit` verbs do, apart from parsing arguments
 * (cli/audit.ts): key resolution, witness files, progress, one-line reports.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import { readOnlySource } from '../db/dialects/audit-reader.js';
import type { CustosCore } from '../main.js';
import { systemContext } from '../shared/context.js';
import { archiveAndPrune, type ArchiveResult } from './archive.js';
import { verifyBundle, type BundleVerdict } from './bundle/verify.js';
import { writeExport } from './bundle/write.js';
import { auditLogError } from './errors.js';
import { ed25519RawPublicKey, formatVerifierKey, noteVerifier, openCheckpoint, parseVerifierKey, type NoteVerifier } from './log/index.js';
import { ensureRetention } from './retention.js';
import { startVerifyCrew, type VerifyCrew } from './verify/crew.js';
import { largeLogThreads, verifyStoredLog, type StoredVerifyResult } from './verify/stored.js';

/** Keys the CLI trusts: every version the log was signed with, as verifiers and C2SP verifier keys. */
export interface TrustedKeys {
  list: Array<{ verifier: NoteVerifier; verifierKey: string }>;
}

/** `--key`: a C2SP verifier key, or the path of a file holding one. */
export async function parseKeyOption(value: string): Promise<TrustedKeys> {
  let text = value.trim();
  if (!/^[^+\s]+\+[0-9a-f]{8}\+/.test(text)) {
    if (!existsSync(value)) throw auditLogError('FILE_UNUSABLE', `--key: neither a verifier key (<name>+<id>+<key>) nor a readable file`);
    text = readFileSync(value, 'utf8').trim();
  }
  const verifier = parseVerifierKey(text);
  return { list: [{ verifier, verifierKey: formatVerifierKey(verifier.name, ed25519RawPublicKey(verifier.publicKey)) }] };
}

/** Trusted keys from the keyring's public keys (every audit-signing version). */
export function keysFromPublic(origin: string, publicKeys: readonly Uint8Array[]): TrustedKeys {
  if (publicKeys.length === 0) throw auditLogError('SIGNER_MISSING', `no audit signing key exists yet for ${origin}: nothing was ever signed`);
  return { list: publicKeys.map((pk) => ({ verifier: noteVerifier(origin, pk), verifierKey: formatVerifierKey(origin, pk) })) };
}

/** AUDIT_SIGNER_MISSING for a verb that needs the keyring when there is none. */
export function noKeyring(origin: string) {
  return auditLogError('SIGNER_MISSING', `no keyring for ${origin} here: pass --key <verifier key> (printed by \`custos audit key\` where the keyring is)`);
}

/** The C2SP verifier key of `publicKey` under the log's name. */
export function verifierKeyOf(origin: string, publicKey: Uint8Array): string {
  return formatVerifierKey(origin, publicKey);
}

/** The verifier key (of `keys`) whose signature `note` carries; throws AUDIT_SIGNER_MISSING when none. */
export function keyForNote(keys: TrustedKeys, note: string, origin: string): string {
  for (const k of keys.list) {
    try {
      openCheckpoint(note, [k.verifier], origin);
      return k.verifierKey;
    } catch {
      // another version signed it
    }
  }
  throw auditLogError('SIGNER_MISSING', 'the latest checkpoint is not signed by a trusted key (run custos audit verify)');
}

/** A witness file: one signed checkpoint note. */
export function readWitness(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw auditLogError('FILE_UNUSABLE', `--against ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** `--threads`: a whole number of worker threads, 1 (this thread only) to 256; undefined: one per core for a large log. */
export function parseThreads(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 256) throw auditLogError('QUERY_INVALID', `--threads: expected a whole number from 1 to 256, got ${value.slice(0, 20)}`);
  return n;
}

const sourceOf = (config: Config) => readOnlySource({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, appRole: config.database.appRole });

/**
 * The workers `audit verify` may use, started before it opens the keyring and
 * the database so that they are ready when verification starts (none for
 * --threads 1 or one core; unused and closed when the log is small).
 */
export function startVerifyWorkers(config: Config, threads: number | undefined): VerifyCrew | undefined {
  const count = largeLogThreads(threads) - 1;
  return count > 0 ? startVerifyCrew(sourceOf(config), count) : undefined;
}

/**
 * Verifies the stored log, printing progress to `progress` (stderr) at most
 * every half second; in parts on `threads` threads, each with its own
 * read-only connection (default: one per core once the log is large), on
 * the workers of `crew` when given.
 */
export async function verifyWithProgress(
  db: Db,
  config: Config,
  keys: TrustedKeys,
  witness: string[],
  progress: (line: string) => void,
  threads?: number,
  crew?: VerifyCrew,
): Promise<StoredVerifyResult> {
  let last = 0;
  let shown = -1;
  const result = await verifyStoredLog(db, {
    verifier: keys.list.map((k) => k.verifier),
    origin: config.deploymentName,
    witness,
    source: sourceOf(config),
    threads,
    crew,
    onProgress: (n, total) => {
      const now = Date.now();
      // At most every half second, the end always, and never the same count twice.
      if ((now - last < 500 && n < total) || n === shown) return;
      last = now;
      shown = n;
      progress(`verify: ${n}/${total} entries`);
    },
  });
  if (result.threads > 0) progress(`verify: checked in parts on ${result.threads} threads`);
  return result;
}

export function describeVerify(r: StoredVerifyResult): string {
  if (!r.ok) {
    const range = r.badRange.end > r.badRange.start + 1 ? `; entries [${r.badRange.start}, ${r.badRange.end}) in doubt` : '';
    return `TAMPERED: first bad index ${r.firstBadIndex} (${r.reason}): ${r.detail}${range}`;
  }
  const parts = [`ok: ${r.size} entries, root ${r.root.toString('base64')}`, `${r.checkpointCount} checkpoints verified (latest size ${r.checkpointSize})`];
  if (r.size > r.checkpointSize) parts.push(`${r.size - r.checkpointSize} newest entries not yet under a checkpoint`);
  if (r.witnessSize > 0) parts.push(`extends the witness of size ${r.witnessSize}`);
  if (r.floor > 0) parts.push(`entries below ${r.floor} archived (their leaf hashes verified in place)`);
  return parts.join('; ');
}

/** ISO-8601 times for --from/--to (or --before), normalised to UTC. */
export function timeRange(from: string, to: string): { from: string; to: string } {
  const parse = (what: string, s: string) => {
    const t = Date.parse(s);
    if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t)) throw auditLogError('QUERY_INVALID', `${what}: not an ISO-8601 time: ${s.slice(0, 40)}`);
    return new Date(t).toISOString();
  };
  const range = { from: parse('--from', from), to: parse('--to', to) };
  if (from !== to && range.from >= range.to) throw auditLogError('QUERY_INVALID', '--from must be earlier than --to');
  return range;
}

export async function exportBundle(core: CustosCore, keys: TrustedKeys, sel: { from: string; to: string; tenant?: string | undefined; out: string }) {
  const origin = core.config.deploymentName;
  return writeExport({ db: core.db, origin, verifierKeyFor: (note) => keyForNote(keys, note, origin), now: core.clock.now() }, sel);
}

export async function verifyBundleFile(file: string, keys: TrustedKeys | undefined): Promise<BundleVerdict> {
  return verifyBundle(file, keys?.list.map((k) => k.verifier));
}

export function describeBundle(v: BundleVerdict): string {
  if (!v.ok) return `INVALID: ${v.index === undefined ? '' : `first bad index ${v.index}, `}line ${v.line}: ${v.detail}`;
  const what = v.kind === 'archive' && v.range ? `archive of entries [${v.range.start}, ${v.range.end})` : `export of ${v.count} entries`;
  const trust = v.keyPinned ? 'signed by the trusted key' : 'signed by the key inside the bundle (pin it with --key to prove origin)';
  return `ok: ${what}, proven in the checkpoint of size ${v.checkpointSize}, ${trust}`;
}

export async function archive(core: CustosCore, keys: TrustedKeys, before: Date, out: string): Promise<ArchiveResult> {
  const retentionDays = await ensureRetention(core.db, core.config.audit.retentionDays, core.clock);
  return archiveAndPrune(
    {
      db: core.db,
      audit: core.audit,
      clock: core.clock,
      origin: core.config.deploymentName,
      verifiers: keys.list.map((k) => k.verifier),
      verifierKeyFor: (note) => keyForNote(keys, note, core.config.deploymentName),
      retentionDays,
    },
    systemContext('audit-archive'),
    before,
    out,
  );
}

export function describeArchive(r: ArchiveResult, out: string): string {
  if (!r.done) return `nothing to archive (prune floor ${r.floor})`;
  return `archived entries [${r.from}, ${r.floor}) to ${out} (sha256 ${r.sha256}); pruned ${r.deleted} entries; prune floor now ${r.floor}`;
}
