import { mkdirSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { openCore, type CustosCore } from '../main.js';
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
export async function prepare(config: Config, out: (line: string) => void): Promise<CustosCore> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  if (await ensureSelfSigned(config)) {
    const m = loadTlsMaterial(config);
    out(`warning: no TLS certificate configured; generated a self-signed one at ${m.certPath} (SHA-256 ${fingerprint(m.cert)}); set tls.cert and tls.key for production`);
  }
  const core = await openCore(config);
  if (!(await core.identity.setupTokenEverIssued()) && !(await core.identity.platformAccountsExist())) {
    const { token, expiresAt } = await core.identity.issueSetupToken(systemContext('init'));
    out(`setup token (shown once; valid until ${expiresAt}; POST it to /api/v1/setup to create the first platform admin; a new one: \`custos setup-token\`):`);
    out(`  ${token}`);
  }
  return core;
}
