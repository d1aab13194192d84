import { mkdirSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { openCore, type CustosCore } from '../main.js';
import { ensureRootKey, keyErrors, openExistingRootKey, type KeysCliContext } from '../keys/index.js';
import { ensureSelfSigned, loadTlsMaterial } from '../server/tls.js';
import { systemContext } from '../shared/context.js';
import { createHash } from 'node:crypto';

function fingerprint(pem: Buffer): string {
  const b64 = pem.toString('utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex').match(/../g)!.join(':').toUpperCase();
}

/**
 * Everything `init` does, idempotently: data directory (0700), certificate,
 * database and migrations, and the one-time setup token the first time only.
 * `serve` runs it too, so `npm start` works on an empty directory.
 */
export async function prepare(config: Config, out: (line: string) => void, opts: { askPassphrase?: boolean } = {}): Promise<CustosCore> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // The root key first: a wrong passphrase or a missing key file stops here, before anything is written.
  const existing = await openExistingRootKey(config, { interactive: true });
  if (await ensureSelfSigned(config)) {
    const m = loadTlsMaterial(config);
    out(`warning: no TLS certificate configured; generated a self-signed one at ${m.certPath} (SHA-256 ${fingerprint(m.cert)}); set tls.cert and tls.key for production`);
  }
  const core = await openCore(config, {
    rootKey: existing ?? ((has) => ensureRootKey(config, has, { interactive: true, askNewPassphrase: opts.askPassphrase === true })),
  });
  const root = await core.keys.ready().catch(async (e: unknown) => {
    await core.rawDb.close();
    throw e;
  });
  if (!existing) out(`created the root key (${root.kind} v${root.keyVersion}: ${Object.entries(root.details).map(([k, v]) => `${k} ${v}`).join(', ')}); keep a copy apart from the data backups`);
  if (!(await core.identity.setupTokenEverIssued()) && !(await core.identity.platformAccountsExist())) {
    const { token, expiresAt } = await core.identity.issueSetupToken(systemContext('init'));
    out(`setup token (shown once; valid until ${expiresAt}; POST it to /api/v1/setup to create the first platform admin; a new one: \`custos setup-token\`):`);
    out(`  ${token}`);
  }
  return core;
}

/** For the `custos keys` verbs: the core with an existing root key unsealed (never creates one). */
export async function openWithRootKey(config: Config): Promise<KeysCliContext & { close(): Promise<void> }> {
  const root = await openExistingRootKey(config, { interactive: true });
  if (!root) throw keyErrors.noRoot();
  const core = await openCore(config, { rootKey: root });
  return {
    audit: core.audit,
    keys: core.keys,
    async close() {
      await core.keys.close();
      await core.rawDb.close();
    },
  };
}
