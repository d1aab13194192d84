// `npm run bench [-- suite …] [--seconds N]`: each figure is printed beside a
// baseline measured in the same run.
import { benchCrypto } from './crypto.js';
import { benchAudit } from './audit.js';
import { benchFoundation } from './foundation.js';
import { benchIdentity } from './identity.js';
import { benchVault } from './vault.js';
import { benchSiem } from './siem.js';

const SUITES: Record<string, (seconds: number) => Promise<void>> = {
  foundation: benchFoundation,
  audit: benchAudit,
  crypto: benchCrypto,
  identity: benchIdentity,
  vault: benchVault,
  siem: benchSiem,
};

const args = process.argv.slice(2);
const secIdx = args.indexOf('--seconds');
const seconds = secIdx >= 0 ? Number(args[secIdx + 1]) : 5;
const wanted = args.filter((a, i) => !a.startsWith('--') && !(secIdx >= 0 && i === secIdx + 1));
const names = wanted.length ? wanted : Object.keys(SUITES);
for (const name of names) {
  const suite = SUITES[name];
  if (!suite) {
    console.error(`bench: unknown suite "${name}" (have: ${Object.keys(SUITES).join(', ')})`);
    process.exit(2);
  }
  await suite(seconds);
}
