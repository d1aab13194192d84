import { afterEach } from 'vitest';
import { openDatabase, type Db } from '../../src/db/index.js';
import { testEnv, type Dialect, type TestEnv } from './app.js';

/** A migrated database alone (no app): for store-level suites on each dialect; `opts` override the pool and group-commit sizes. */
export async function testDb(dialect: Dialect, opts: { poolSize?: number; groupCommitMax?: number } = {}): Promise<{ db: Db; env: TestEnv; cleanup: () => Promise<void> }> {
  const env = await testEnv(dialect);
  const { config } = env;
  const db = openDatabase({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    appRole: config.database.appRole,
    poolSize: opts.poolSize ?? 4,
    groupCommitMax: opts.groupCommitMax ?? config.database.groupCommitMax,
  });
  try {
    await db.migrate();
  } catch (e) {
    await db.close();
    await env.cleanup();
    throw e;
  }
  return {
    db,
    env,
    cleanup: async () => {
      await db.close();
      await env.cleanup();
    },
  };
}

/** A fresh testDb for each test of the calling suite that asks for one, closed after that test. */
export function dbPerTest(dialect: Dialect, opts: { poolSize?: number; groupCommitMax?: number } = {}): () => Promise<Db> {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
  return async () => {
    const t = await testDb(dialect, opts);
    cleanup = t.cleanup;
    return t.db;
  };
}
