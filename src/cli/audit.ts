/**
 * `custos audit …` verbs: verify, key, export, verify-bundle, archive. Only
 * commander is loaded with the CLI; the rest is imported when a verb runs.
 * Exit codes: 0 ok, 1 tampering found (first bad index named), 2 could not run.
 *
 * The trusted key is `--key` (a copy kept off-system: the stronger choice),
 * else every audit-signing key version in this deployment's keyring.
 */
import { Option, type Command } from 'commander';
import type { TrustedKeys } from '../audit/cli-support.js';
import type { Config } from '../config/index.js';
import type { CustosCore } from '../main.js';
import { EXIT } from './run.js';

export interface AuditCliDeps {
  action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void>;
  readConfig(): Config;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

/** Opens the database (and, without --key, the existing keyring: it is never created here) and the trusted keys. */
async function withAudit<T>(config: Config, keyOption: string | undefined, fn: (core: CustosCore, keys: TrustedKeys) => Promise<T>): Promise<T> {
  const support = await import('../audit/cli-support.js');
  const { openCore } = await import('../main.js');
  const given = keyOption === undefined ? undefined : await support.parseKeyOption(keyOption);
  const root = given ? undefined : await (await import('../keys/index.js')).openExistingRootKey(config, { interactive: true });
  if (!given && !root) throw support.noKeyring(config.deploymentName);
  const core = await openCore(config, root ? { rootKey: root } : {});
  try {
    const keys = given ?? support.keysFromPublic(config.deploymentName, (await core.keys.auditPublicKeys()).map((k) => k.publicKey));
    return await fn(core, keys);
  } finally {
    await core.keys.close();
    await core.rawDb.close();
  }
}

const KEY_HELP = 'trusted verifier key, or a file holding it (default: every audit signing key in this keyring)';
type AuditCommand = ReturnType<Command['command']>;

function registerVerify(audit: AuditCommand, deps: AuditCliDeps): void {
  audit
    .command('verify')
    .description('recompute every leaf and the tree from storage and check every checkpoint (exit 0 ok, 1 tampered, 2 could not run)')
    .option('--against <file...>', 'earlier checkpoint(s) kept elsewhere (witness copies) the log must extend')
    .option('--key <vkey|file>', KEY_HELP)
    .addOption(
      new Option('--threads <n>', 'threads verifying parts of the log, each on its own connection (default: one per core for a large log; 1: one thread)').env(
        'CUSTOS_AUDIT_VERIFY_THREADS',
      ),
    )
    .action(
      deps.action(async (o: { against?: string[]; key?: string; threads?: string }) => {
        const config = deps.readConfig();
        const support = await import('../audit/cli-support.js');
        const witness = (o.against ?? []).map(support.readWitness);
        const threads = support.parseThreads(o.threads);
        // Workers boot (~0.1-0.2 s each) while the keyring and the database open.
        const crew = support.startVerifyWorkers(config, threads);
        try {
          const result = await withAudit(config, o.key, (core, keys) => support.verifyWithProgress(core.db, config, keys, witness, err, threads, crew));
          out(support.describeVerify(result));
          return result.ok ? EXIT.OK : EXIT.FOUND;
        } finally {
          await crew?.close();
        }
      }),
    );
}

function registerKey(audit: AuditCommand, deps: AuditCliDeps): void {
  audit
    .command('key')
    .description("print the log's current C2SP verifier key (keep a copy off-system for `audit verify --key` and witnesses)")
    .action(
      deps.action(async () => {
        const config = deps.readConfig();
        const support = await import('../audit/cli-support.js');
        const root = await (await import('../keys/index.js')).openExistingRootKey(config, { interactive: true });
        if (!root) throw support.noKeyring(config.deploymentName);
        const core = await (await import('../main.js')).openCore(config, { rootKey: root });
        try {
          out(support.verifierKeyOf(config.deploymentName, (await core.keys.auditSigner()).publicKey));
        } finally {
          await core.keys.close();
          await core.rawDb.close();
        }
      }),
    );
}

function registerBundles(audit: AuditCommand, deps: AuditCliDeps): void {
  audit
    .command('export')
    .description('write a self-contained bundle (entries, inclusion proofs, checkpoint, verifier key) for investigators')
    .requiredOption('--from <time>', 'entries recorded at or after this ISO-8601 time')
    .requiredOption('--to <time>', 'entries recorded before this ISO-8601 time')
    .requiredOption('--out <file>', 'bundle file to create (never overwritten)')
    .option('--tenant <id>', "only this tenant's entries")
    .option('--key <vkey|file>', KEY_HELP)
    .action(
      deps.action(async (o: { from: string; to: string; out: string; tenant?: string; key?: string }) => {
        const config = deps.readConfig();
        const support = await import('../audit/cli-support.js');
        const range = support.timeRange(o.from, o.to);
        const r = await withAudit(config, o.key, (core, keys) => support.exportBundle(core, keys, { ...range, tenant: o.tenant, out: o.out }));
        out(`exported ${r.count} entries (proven in the tree of size ${r.size}) to ${o.out} (sha256 ${r.sha256})`);
      }),
    );
  audit
    .command('verify-bundle <file>')
    .description('verify an export or archive bundle offline (exit 0 ok, 1 invalid, 2 could not read)')
    .option('--key <vkey|file>', 'trusted verifier key (default: the key inside the bundle, which proves integrity but not origin)')
    .action(
      deps.action(async (file: string, o: { key?: string }) => {
        const support = await import('../audit/cli-support.js');
        const keys = o.key === undefined ? undefined : await support.parseKeyOption(o.key);
        const verdict = await support.verifyBundleFile(file, keys);
        out(support.describeBundle(verdict));
        return verdict.ok ? EXIT.OK : EXIT.FOUND;
      }),
    );
}

function registerArchive(audit: AuditCommand, deps: AuditCliDeps): void {
  audit
    .command('archive')
    .description('write an archive bundle of entries recorded before --before (past retention), verify it, then prune them')
    .requiredOption('--before <time>', 'archive entries recorded before this ISO-8601 time (at least audit.retentionDays ago)')
    .requiredOption('--out <file>', 'archive bundle to create (never overwritten)')
    .option('--key <vkey|file>', KEY_HELP)
    .action(
      deps.action(async (o: { before: string; out: string; key?: string }) => {
        const config = deps.readConfig();
        const support = await import('../audit/cli-support.js');
        const before = support.timeRange(o.before, o.before).from;
        const r = await withAudit(config, o.key, (core, keys) => support.archive(core, keys, new Date(before), o.out));
        out(support.describeArchive(r, o.out));
      }),
    );
}

export function registerAuditCommands(program: Command, deps: AuditCliDeps): void {
  const audit = program.command('audit').description('the tamper-evident audit log: verify, export, archive');
  registerVerify(audit, deps);
  registerKey(audit, deps);
  registerBundles(audit, deps);
  registerArchive(audit, deps);
}
