// The `custos keys …` verbs. Only commander here: the key code loads when a
// verb runs (the CLI answers --help and bad usage without the crypto stack).
import type { Command } from 'commander';
import { createError } from '../shared/errors.js';
import type { KeysCliContext, KeysCliOutput } from './cli.js';

export interface KeysCommandDeps {
  /** Wraps an action: errors become one line and exit code 2. */
  action: <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) => (...args: A) => Promise<void>;
  /** Opens the core with the root key unsealed (asking for a passphrase on a terminal when needed). */
  open: () => Promise<KeysCliContext & { close(): Promise<void> }>;
}

function output(): KeysCliOutput {
  const tty = process.stderr.isTTY === true;
  return {
    print: (line) => process.stdout.write(`${line}\n`),
    progress: (text, final) => process.stderr.write(tty ? `\r${text}${final ? '\n' : ''}` : `${text}\n`),
  };
}

async function withCore(
  deps: KeysCommandDeps,
  verb: string,
  o: Record<string, unknown>,
  run: (c: KeysCliContext, out: KeysCliOutput) => Promise<void>,
): Promise<void> {
  checkOptions(verb, o);
  const c = await deps.open();
  try {
    await run(c, output());
  } finally {
    await c.close();
  }
}

const cli = () => import('./cli.js');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function usage(message: string): Error {
  return createError('CLI_USAGE', message, 400);
}

function checkInt(o: Record<string, unknown>, key: string, flag: string, min: number, max: number): void {
  const raw = o[key];
  if (raw === undefined) return;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw usage(`--${flag} must be an integer from ${min} to ${max}`);
}

/** Option checks that need neither the database nor the root key: bad usage answers at once and opens nothing. */
function checkOptions(verb: string, o: Record<string, unknown>): void {
  checkInt(o, 'batchSize', 'batch-size', 1, 10_000);
  checkInt(o, 'pace', 'pace', 0, 60_000);
  for (const key of ['tenant', 'subject'] as const) {
    if (o[key] !== undefined && !UUID.test(String(o[key]))) throw usage(`--${key} must be a ${key === 'tenant' ? 'tenant' : 'data subject'} id (UUID)`);
  }
  if (verb === 'rotate' && [o['root'], o['platform'], o['auditSigning'], o['tenant'] !== undefined].filter(Boolean).length !== 1) {
    throw usage('give exactly one of --root, --platform, --audit-signing, --tenant <id>');
  }
  if (verb === 'destroy' && Boolean(o['subject']) === Boolean(o['allTenantData'])) {
    throw usage('give --subject <id>, or --all-tenant-data to destroy the tenant KEK');
  }
  if (verb === 'destroy' && String(o['reason'] ?? '').trim() === '') throw usage('destroying a key needs a reason (--reason), e.g. the erasure request reference');
}

/** Adds `custos keys rotate | rewrap | status | retire | destroy | ledger`. */
export function registerKeysCommands(program: Command, deps: KeysCommandDeps): void {
  const keys = program.command('keys').description('root key, rotation and rewrap, key status, retirement, crypto-shredding');
  const pacing = (c: Command) =>
    c.option('--batch-size <n>', 'keys re-wrapped per transaction (default 50)').option('--pace <ms>', 'pause between batches, to spare an HSM or KMS quota');
  pacing(
    keys
      .command('rotate')
      .description('new version of the root key, the platform DEK, the audit signing key or a tenant KEK; old versions decrypt only')
      .option('--root', 'rotate the root key, then re-wrap everything under it')
      .option('--platform', 'rotate the platform DEK')
      .option('--audit-signing', 'rotate the audit checkpoint signing key')
      .option('--tenant <id>', "rotate the tenant's KEK, then re-wrap its keys")
      .option('--no-rewrap', 'leave the rewrap for a later `custos keys rewrap`'),
  ).action(deps.action(async (o: Record<string, string | boolean>) => withCore(deps, 'rotate', o, async (c, out) => (await cli()).rotateVerb(c, o, out))));
  pacing(keys.command('rewrap').description('resume (or start) the rewrap of keys still under an old root version or KEK; safe to kill and re-run')).action(
    deps.action(async (o: Record<string, string>) => withCore(deps, 'rewrap', o, async (c, out) => (await cli()).rewrapVerb(c, o, out))),
  );
  keys
    .command('status')
    .description('versions, ages, usage counts and what still depends on old versions')
    .option('--tenant <id>', 'one tenant only')
    .option('--json', 'print JSON')
    .action(deps.action(async (o: { tenant?: string; json?: boolean }) => withCore(deps, 'status', o, async (c, out) => (await cli()).statusVerb(c, o, out))));
  keys
    .command('retire')
    .description('retire every root and KEK version nothing depends on (minimum decryption version)')
    .action(deps.action(async () => withCore(deps, 'retire', {}, async (c, out) => (await cli()).retireVerb(c, out))));
  keys
    .command('destroy')
    .description("crypto-shred a data subject's key (--subject) or a whole tenant's KEK (--all-tenant-data); irreversible")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--subject <id>', 'data subject id')
    .option('--all-tenant-data', "destroy the tenant's KEK and every key under it")
    .requiredOption('--reason <text>', 'why (recorded in the erasure ledger and the audit log)')
    .action(deps.action(async (o: Record<string, string | boolean>) => withCore(deps, 'destroy', o, async (c, out) => (await cli()).destroyVerb(c, o, out))));
  keys
    .command('ledger')
    .description('the erasure ledger: every crypto-shredding')
    .option('--tenant <id>', 'one tenant only')
    .option('--json', 'one JSON object per line')
    .action(deps.action(async (o: { tenant?: string; json?: boolean }) => withCore(deps, 'ledger', o, async (c, out) => (await cli()).ledgerVerb(c, o, out))));
}
