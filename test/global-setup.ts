import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { openDatabase } from '../src/db/index.js';

/**
 * When CUSTOS_TEST_PG_URL is set: one migrated template database per run, so
 * each PostgreSQL test gets a fresh copy in ~0.3 s. Without it the storage
 * suites say they ran on SQLite only.
 */
export default async function setup(): Promise<() => Promise<void>> {
  // CLI and crash tests spawn the compiled CLI; build it (incremental) so it matches src/.
  // tsc emits even with type errors (the type-check step of `npm test` reports those), so only warn here.
  const build = spawnSync(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (build.status !== 0) console.warn(`\nglobal setup: tsc reported errors while building dist/ (CLI tests run what was emitted):\n${build.stdout.split('\n').slice(0, 5).join('\n')}\n`);
  const runId = `${process.pid}_${Date.now().toString(36)}`;
  process.env.CUSTOS_TEST_RUN_ID = runId;
  const { PG_URL, TEMPLATE_DB, adminQuery, urlFor } = await import('./helpers/pg.js');
  if (!PG_URL) {
    console.log('\nCUSTOS_TEST_PG_URL is not set: storage tests run on SQLite only.\n');
    return async () => {};
  }
  await adminQuery(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${TEMPLATE_DB}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-tpl-'));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, databaseUrl: urlFor(TEMPLATE_DB) } });
  const db = openDatabase({ dataDir: dir, databaseUrl: config.databaseUrl, appRole: config.database.appRole, poolSize: 2, groupCommitMax: 1 });
  await db.migrate();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return async () => {
    // Only this run's databases: another run may be using its own at the same time.
    const mine = `custos_t_${runId}_`;
    const { rows } = await adminQuery(`SELECT datname FROM pg_database WHERE datname LIKE '${mine}%' OR datname = '${TEMPLATE_DB}'`);
    for (const r of rows as Array<{ datname: string }>) {
      if (r.datname.startsWith(mine) || r.datname === TEMPLATE_DB) await adminQuery(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
    }
  };
}
