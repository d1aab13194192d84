/**
 * `custos audit …` verbs: verify, key, export, verify-bundle, archive. Only
 * commander is loaded with the CLI; the rest is imported when a verb runs.
 * Exit codes: 0 ok, 1 tampering found (first bad index named), 2 could not run.
 */
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import type { CustosCore } from '../main.js';
import { EXIT } from './run.js';

export interface AuditCliDeps {
  action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void>;
  readConfig(): Config;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

async function withCore<T>(config: Config, fn: (core: CustosCore) => Promise<T>): Promise<T> {
  const core = await (await import('../main.js')).openCore(config);
  try {
    return await fn(core);
  } finally {
    await core.rawDb.close();
  }
}

/** The key to trust: --key (a C2SP verifier key, or a file holding one), else the log's own signer. */
async function trustedKey(keyOption: string | undefined, config: Config) {
  const { resolveTrustedKey } = await import('../audit/cli-support.js');
  return resolveTrustedKey(keyOption, config);
}

export function registerAuditCommands(program: Command, deps: AuditCliDeps): void {
  const { action } = deps;
  const audit = program.command('audit').description('the tamper-evident audit log: verify, export, archive');

  audit
    .command('verify')
    .description('recompute every leaf and the tree from storage and check every checkpoint (exit 0 ok, 1 tampered, 2 could not run)')
    .option('--against <file...>', 'earlier checkpoint(s) kept elsewhere (witness copies) the log must extend')
    .option('--key <vkey|file>', 'trusted verifier key (default: the log signer of this deployment)')
    .action(
      action(async (o: { against?: string[]; key?: string }) => {
        const config = deps.readConfig();
        const support = await import('../audit/cli-support.js');
        const verifier = await trustedKey(o.key, config);
        const witness = (o.against ?? []).map(support.readWitness);
        const result = await withCore(config, (core) => support.verifyWithProgress(core.db, config, verifier, witness, err));
        out(support.describeVerify(result));
        return result.ok ? EXIT.OK : EXIT.FOUND;
      }),
    );

  audit
    .command('key')
    .description("print the log's C2SP verifier key (keep a copy off-system; witnesses and `audit verify --key` trust it)")
    .action(
      action(async () => {
        const config = deps.readConfig();
        out((await trustedKey(undefined, config)).verifierKey);
      }),
    );

  audit
    .command('export')
    .description('write a self-contained bundle (entries, inclusion proofs, checkpoint, verifier key) for investigators')
    .requiredOption('--from <time>', 'entries recorded at or after this ISO-8601 time')
    .requiredOption('--to <time>', 'entries recorded before this ISO-8601 time')
    .requiredOption('--out <file>', 'bundle file to create (never overwritten)')
    .option('--tenant <id>', "only this tenant's entries")
    .option('--key <vkey|file>', 'verifier key to embed (default: the log signer of this deployment)')
    .action(
      action(async (o: { from: string; to: string; out: string; tenant?: string; key?: string }) => {
        const config = deps.readConfig();
        const support = await import('../audit/cli-support.js');
        const key = await trustedKey(o.key, config);
        const range = support.timeRange(o.from, o.to);
        const r = await withCore(config, (core) => support.exportBundle(core, key, { ...range, tenant: o.tenant, out: o.out }));
        out(`exported ${r.count} entries (proven in the tree of size ${r.size}) to ${o.out} (sha256 ${r.sha256})`);
      }),
    );

  audit
    .command('verify-bundle <file>')
    .description('verify an export or archive bundle offline (exit 0 ok, 1 invalid, 2 could not read)')
    .option('--key <vkey|file>', 'trusted verifier key (default: the key inside the bundle, which proves integrity but not origin)')
    .action(
      action(async (file: string, o: { key?: string }) => {
        const support = await import('../audit/cli-support.js');
        const verifier = o.key === undefined ? undefined : (await support.parseKeyOption(o.key)).verifier;
        const verdict = await support.verifyBundleFile(file, verifier);
        out(support.describeBundle(verdict));
        return verdict.ok ? EXIT.OK : EXIT.FOUND;
      }),
    );

  audit
    .command('archive')
    .description('write an archive bundle of entries recorded before --before (past retention), verify it, then prune them')
    .requiredOption('--before <time>', 'archive entries recorded before this ISO-8601 time (at least audit.retentionDays ago)')
    .requiredOption('--out <file>', 'archive bundle to create (never overwritten)')
    .option('--key <vkey|file>', 'trusted verifier key (default: the log signer of this deployment)')
    .action(
      action(async (o: { before: string; out: string; key?: string }) => {
        const config = deps.readConfig();
        const support = await import('../audit/cli-support.js');
        const key = await trustedKey(o.key, config);
        const before = support.timeRange(o.before, o.before).from;
        const r = await withCore(config, (core) => support.archive(core, key, new Date(before), o.out));
        out(support.describeArchive(r, o.out));
      }),
    );
}
