import { createGuard } from '../access/index.js';
import type { AuditRecorder } from '../audit/index.js';
import { systemContext } from '../shared/context.js';
import { createKeyAdmin, type KeyAdmin } from './admin.js';
import type { KeyringCore } from './keyring.js';
import type { RewrapOptions } from './rewrap.js';
import type { KeyStatus, RewrapProgress, SeriesStatus } from './types.js';

/** What the `custos keys` verbs run against: an opened core whose root key is unsealed. */
export interface KeysCliContext {
  audit: AuditRecorder;
  keys: KeyringCore;
}

export interface KeysCliOutput {
  /** A line on stdout. */
  print(line: string): void;
  /** Progress on stderr (a bar redrawn in place on a terminal, one line per step otherwise). */
  progress(text: string, final: boolean): void;
}

export interface RotateOptions {
  root?: boolean;
  platform?: boolean;
  auditSigning?: boolean;
  tenant?: string;
  rewrap?: boolean;
  batchSize?: string;
  pace?: string;
}

function admin(c: KeysCliContext): KeyAdmin {
  return createKeyAdmin({ core: c.keys, guard: createGuard({ audit: c.audit }) });
}

function bar(p: RewrapProgress): string {
  const width = 30;
  const frac = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const filled = Math.round(frac * width);
  const who = p.scope === 'root' ? 'root' : `tenant ${p.owner}`;
  return `rewrap ${who} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} (${Math.floor(frac * 100)}%)`;
}

function rewrapOptions(o: { batchSize?: string | undefined; pace?: string | undefined }, out: KeysCliOutput): RewrapOptions {
  const batchSize = o.batchSize !== undefined ? Number(o.batchSize) : undefined;
  const paceMs = o.pace !== undefined ? Number(o.pace) : undefined;
  return {
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(paceMs !== undefined ? { paceMs } : {}),
    onProgress: (p) => out.progress(bar(p), p.done >= p.total),
  };
}

async function rewrapAll(c: KeysCliContext, o: RotateOptions, out: KeysCliOutput): Promise<void> {
  const results = await admin(c).rewrap(systemContext('cli-keys'), rewrapOptions(o, out));
  if (results.length === 0) out.print('nothing to rewrap: every key is under the current root version and KEK');
  for (const r of results) {
    out.print(`rewrap ${r.scope === 'root' ? 'root' : `tenant ${r.owner}`} done: ${r.rewrapped} key(s) re-wrapped${r.skipped ? `, ${r.skipped} skipped (destroyed meanwhile)` : ''}`);
  }
}

/** `custos keys rotate --root | --platform | --audit-signing | --tenant ID [--no-rewrap]` (options checked in commands.ts). */
export async function rotateVerb(c: KeysCliContext, o: RotateOptions, out: KeysCliOutput): Promise<void> {
  const ctx = systemContext('cli-keys');
  const a = admin(c);
  if (o.root) out.print(`root key rotated to version ${(await a.rotateRoot(ctx)).version}`);
  else if (o.platform) out.print(`platform DEK rotated to version ${(await a.rotatePlatform(ctx)).version}`);
  else if (o.auditSigning) out.print(`audit signing key rotated to version ${(await a.rotateAuditSigning(ctx)).version} (publish its public key to witnesses)`);
  else out.print(`tenant ${o.tenant} KEK rotated to version ${(await a.rotateTenant(ctx, o.tenant as string)).version}`);
  if ((o.root || o.tenant !== undefined) && o.rewrap !== false) await rewrapAll(c, o, out);
}

/** `custos keys rewrap`: resumes unfinished jobs, or starts them for whatever sits under an old version. */
export async function rewrapVerb(c: KeysCliContext, o: RotateOptions, out: KeysCliOutput): Promise<void> {
  await rewrapAll(c, o, out);
}

function seriesLines(label: string, s: SeriesStatus | null): string[] {
  if (s === null) return [];
  if (s.destroyed) return [`  ${label}: DESTROYED`];
  return s.versions.map((v) => {
    const deps = v.dependents !== undefined ? `, wraps ${v.dependents}` : '';
    return `  ${label} v${v.version} ${v.state.padEnd(12)} age ${v.ageDays} d, usage ≤ ${v.usage}${deps}, under ${v.wrappedBy ?? '?'}  (${v.id})`;
  });
}

export function formatStatus(s: KeyStatus): string[] {
  const lines = [`root: ${s.root.kind}, current v${s.root.currentVersion}, minimum decryption version v${s.root.minVersion}`];
  for (const v of s.root.versions) lines.push(`  root v${v.version}${v.retired ? ' retired' : ''}: wraps ${v.wraps} key(s)`);
  lines.push('platform:');
  for (const p of s.platform) lines.push(...seriesLines(p.purpose, p));
  for (const t of s.tenants) {
    lines.push(`tenant ${t.tenantId}: ${t.subjects} subject key(s), ${t.subjectsDestroyed} destroyed${t.subjectsPooled ? `, ${t.subjectsPooled} pooled (not handed out yet)` : ''}`);
    lines.push(...seriesLines('kek', t.kek), ...seriesLines('dek', t.dek), ...seriesLines('index', t.indexKey));
  }
  for (const j of s.jobs) lines.push(`job ${j.id}: rewrap ${j.scope} ${j.scope === 'root' ? `→ v${j.target}` : j.owner} ${j.state} ${j.done}/${j.total}`);
  lines.push(s.pending.length === 0 ? 'nothing depends on an old version' : 'still pending:');
  for (const p of s.pending) lines.push(`  ${p}`);
  return lines;
}

/** `custos keys status [--json] [--tenant ID]`. */
export async function statusVerb(c: KeysCliContext, o: { json?: boolean; tenant?: string }, out: KeysCliOutput): Promise<void> {
  const s = await admin(c).status(systemContext('cli-keys'), o.tenant);
  if (o.json) out.print(JSON.stringify(s));
  else for (const l of formatStatus(s)) out.print(l);
}

/** `custos keys retire`. */
export async function retireVerb(c: KeysCliContext, out: KeysCliOutput): Promise<void> {
  const r = await admin(c).retire(systemContext('cli-keys'));
  out.print(r.root.to > r.root.from ? `root: versions below v${r.root.to} retired` : `root: minimum decryption version stays v${r.root.to}`);
  for (const k of r.keks) out.print(`tenant ${k.tenantId}: KEK version(s) ${k.retired.join(', ')} retired; minimum v${k.minVersion}`);
}

/** `custos keys destroy --tenant T (--subject S | --all-tenant-data) --reason R` (options checked in commands.ts). */
export async function destroyVerb(
  c: KeysCliContext,
  o: { tenant?: string; subject?: string; allTenantData?: boolean; reason?: string },
  out: KeysCliOutput,
): Promise<void> {
  const e = await admin(c).destroy(systemContext('cli-keys'), { tenantId: o.tenant as string, subjectId: o.subject, reason: o.reason ?? '' });
  out.print(`destroyed ${e.keyIds.length} key version(s) of ${e.scope} ${e.subjectId ?? e.tenantId}; erasure ledger entry ${e.id}`);
}

/** `custos keys ledger [--tenant ID] [--json]`. */
export async function ledgerVerb(c: KeysCliContext, o: { tenant?: string; json?: boolean }, out: KeysCliOutput): Promise<void> {
  const entries = await admin(c).ledger(systemContext('cli-keys'), o.tenant);
  for (const e of entries) {
    out.print(o.json ? JSON.stringify(e) : `${e.erasedAt} ${e.scope} tenant ${e.tenantId}${e.subjectId ? ` subject ${e.subjectId}` : ''}: ${e.keyIds.length} key(s), by ${e.actor}: ${e.reason}`);
  }
}
