#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { action, EXIT, readConfig, type GlobalOptions } from './run.js';
import { registerAuditCommands } from './audit.js';
// Only commander at load time; the key code loads when a `keys` verb runs.
import { registerKeysCommands } from '../keys/commands.js';

// Verbs import what they need when they run, so `--version`, `help` and bad
// usage answer without loading the server, drivers and crypto.
const lazy = {
  prepare: async () => (await import('./prepare.js')).prepare,
  serve: async () => (await import('./serve.js')).serve,
  openCore: async () => (await import('../main.js')).openCore,
  systemContext: async () => (await import('../shared/context.js')).systemContext,
};

// The package root is two levels up from src/cli, three from dist/src/cli.
function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'custos' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

const program = new Command();
const globals = (): GlobalOptions => program.opts<GlobalOptions>();
const print = (line: string) => process.stdout.write(`${line}\n`);

program
  .name('custos')
  .description('Security measures as running software: HTTPS API, vault, audit log, SIEM.')
  .version(packageVersion(), '-V, --version')
  .option('-c, --config <file>', 'custos.yaml to read (else CUSTOS_CONFIG, else ./custos.yaml)')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({ writeErr: () => {} });

program
  .command('init')
  .description('create the data directory, certificate, root key, database and the one-time setup token')
  .option('--passphrase', 'seal a new local keyring under a passphrase asked on the terminal (or set CUSTOS_MASTER_PASSPHRASE)')
  .action(
    action(async (o: { passphrase?: boolean }) => {
      const config = readConfig(globals());
      const core = await (await lazy.prepare())(config, print, { askPassphrase: o.passphrase === true });
      print(`initialised ${config.dataDir} (${core.db.location})`);
      await core.keys.close();
      await core.rawDb.close();
    }),
  );

program
  .command('serve')
  .description('serve the HTTPS API (what `npm start` runs)')
  .action(
    action(async () => {
      await (await lazy.serve())(readConfig(globals()));
      return undefined;
    }),
  );

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(
    action(async () => {
      const core = await (await lazy.openCore())(readConfig(globals()));
      const status = await core.db.migrationStatus();
      print(`migrations current: ${status.applied.length} applied`);
      await core.rawDb.close();
    }),
  );

const configCmd = program.command('config').description('configuration tools');
configCmd
  .command('check')
  .description('validate the configuration and print it (no secrets)')
  .action(
    action(async () => {
      const config = readConfig(globals());
      const shown = { ...config, databaseUrl: config.databaseUrl ? config.databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@') : undefined };
      print(`config ok: ${JSON.stringify(shown)}`);
    }),
  );

for (const verb of ['setup-token', 'bootstrap-token']) {
  program
    .command(verb)
    .description(verb === 'setup-token' ? 'revoke the setup token and print a new one (creates the first platform admin)' : 'alias of setup-token')
    .action(
      action(async () => {
        const config = readConfig(globals());
        const core = await (await lazy.openCore())(config);
        const systemContext = await lazy.systemContext();
        const { token, expiresAt } = await core.identity.issueSetupToken(systemContext('cli'));
        print(`setup token (shown once; valid until ${expiresAt}; POST it to /api/v1/setup):`);
        print(`  ${token}`);
        await core.rawDb.close();
      }),
    );
}

registerKeysCommands(program, { action, open: async () => (await import('./prepare.js')).openWithRootKey(readConfig(globals())) });

registerAuditCommands(program, { action, readConfig: () => readConfig(globals()) });

program.command('help [verb]').description('show help for a verb').action((verb?: string) => {
  const cmd = verb ? program.commands.find((c) => c.name() === verb) : undefined;
  if (verb && !cmd) {
    process.stderr.write(`custos: unknown verb "${verb}"; see \`custos help\`\n`);
    process.exitCode = EXIT.USAGE;
    return;
  }
  (cmd ?? program).outputHelp();
});

async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = EXIT.OK;
        return;
      }
      const msg = e.message.replace(/^error: /, '').split('\n')[0];
      process.stderr.write(`custos: ${msg}; see \`custos help\`\n`);
      process.exitCode = EXIT.USAGE;
      return;
    }
    throw e;
  }
}

await main(process.argv);
