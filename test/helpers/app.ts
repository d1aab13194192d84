import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { Db } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import { createCustos, type Custos } from '../../src/main.js';
import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { signerFromPrivateKey, type CheckpointSigner } from '../../src/audit/index.js';
import type { Clock } from '../../src/shared/clock.js';
import { setupAdmin, type AdminCredential } from './identity.js';
import { freshPgDatabase, PG_URL } from './pg.js';

export type Dialect = 'sqlite' | 'postgres';

/** Every storage suite runs on each of these: SQLite always, PostgreSQL when CUSTOS_TEST_PG_URL is set. */
export const DIALECTS: Dialect[] = PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestEnv {
  dialect: Dialect;
  config: Config;
  dataDir: string;
  cleanup: () => Promise<void>;
}

/** A fresh data directory and (for postgres) a fresh database. */
export async function testEnv(dialect: Dialect, overrides: Record<string, unknown> = {}): Promise<TestEnv> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custos-test-'));
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (dialect === 'postgres') {
    const fresh = await freshPgDatabase();
    databaseUrl = fresh.url;
    drop = fresh.drop;
  }
  const config = loadConfig({
    env: {},
    overrides: { dataDir, databaseUrl, logLevel: 'silent', 'rateLimit.enabled': false, ...overrides },
  });
  return {
    dialect,
    config,
    dataDir,
    cleanup: async () => {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestApp {
  env: TestEnv;
  custos: Custos;
  /** Bearer session token of the first platform admin (MFA enrolled). */
  token: string;
  admin: AdminCredential;
  /** JSON request as the platform admin (or with `token: null` anonymously). */
  request(opts: {
    method: string;
    url: string;
    body?: unknown;
    token?: string | null;
    headers?: Record<string, string>;
  }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function testApp(
  dialect: Dialect,
  options: { overrides?: Record<string, unknown>; clock?: Clock; wrapDb?: (db: Db) => Db; logLines?: string[]; auditSigner?: CheckpointSigner; auditSequencer?: boolean } = {},
): Promise<TestApp> {
  const env = await testEnv(dialect, options.overrides);
  const logger = options.logLines
    ? createLogger('info', { write: (line: string) => void options.logLines?.push(line) })
    : createLogger('silent');
  const custos = await createCustos(env.config, {
    logger,
    clock: options.clock,
    wrapDb: options.wrapDb,
    auditSigner: options.auditSigner ?? testAuditSigner(),
    auditSequencer: options.auditSequencer,
  });
  const admin = await setupAdmin(custos, () => (options.clock ?? { now: () => new Date() }).now());
  const token = admin.token;
  return {
    env,
    custos,
    token,
    admin,
    request: ({ method, url, body, token: t, headers }) =>
      custos.app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(t === null ? {} : { authorization: `Bearer ${t ?? token}` }),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      }),
    async close() {
      await custos.close();
      await env.cleanup();
    },
  };
}

/** A fresh Ed25519 checkpoint signer (production signers come from the keyring). */
export function testAuditSigner(): CheckpointSigner {
  return signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey);
}

/**
 * Parsed audit events, oldest first: those already sequenced into the log
 * (by index), then those still in the outbox (by seq). One statement, so a
 * batch the sequencer commits meanwhile is seen entirely before or after.
 */
export async function outboxEvents(custos: Custos): Promise<Array<Record<string, unknown> & { custos: { action: string; kind: string } }>> {
  const rows = await custos.db.read((tx) =>
    tx
      .selectFrom('audit_entries')
      .select(['event', sql<number>`0`.as('part'), 'idx as pos'])
      .unionAll(tx.selectFrom('audit_outbox').select(['event', sql<number>`1`.as('part'), 'seq as pos']))
      .execute(),
  );
  rows.sort((a, b) => Number(a.part) - Number(b.part) || Number(a.pos) - Number(b.pos));
  return rows.map((r) => JSON.parse(r.event));
}

let slugCounter = 0;
export function uniqueSlug(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${slugCounter++}`;
}
