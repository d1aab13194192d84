import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Logger } from 'pino';
import { createAccessRequestService, createGuard, registerAccessRequestRoutes, type AccessRequestService } from './access/index.js';
import { createAuditRecorder, type AuditRecorder } from './audit/index.js';
import { createAuditLog, type AuditLog, type CheckpointSigner } from './audit/index.js';
import { createForwarders, type ForwarderSet } from './audit/forward/index.js';
import type { Config } from './config/index.js';
import { openDatabase, type Db } from './db/index.js';
import { createIdempotencyService } from './idempotency/index.js';
import { createIdentityService, createKeyringSealer, csrfMatches, registerIdentityRoutes, SESSION_COOKIE, type IdentityService, type SecretSealer } from './identity/index.js';
import { createLogger } from './logger.js';
import { buildServer } from './server/app.js';
import { createMetrics } from './server/metrics.js';
import type { App } from './server/types.js';
import { systemClock, type Clock } from './shared/clock.js';
import { systemContext } from './shared/context.js';
import { createTenantService, registerTenantRoutes, type TenantService } from './tenants/index.js';
import { createKeyAdmin, createKeyring, ensureRootKey, registerKeyRoutes, type KeyAdmin, type KeyringCore, type RootKeySource } from './keys/index.js';
import { createIntegrationService, registerIntegrationRoutes, type IntegrationService } from './integrations/index.js';
import { blobDirFor, createVaultService, registerVaultRoutes, type VaultService } from './vault/index.js';
import { createIngestService, createSyslogIngest, registerIngestRoutes, type SyslogListener } from './siem/ingest/index.js';
import { createSiem, type Siem } from './siem/index.js';

export interface CustosOptions {
  logger?: Logger;
  clock?: Clock;
  https?: HttpsServerOptions;
  /** Replace the database (tests wrap it to inject faults). */
  wrapDb?: (db: Db) => Db;
  /** The audit checkpoint signer (audit/README.md); without one nothing is sequenced and a warning says so. */
  auditSigner?: CheckpointSigner;
  /** false: the audit sequencer does not run in-process (tests drive custos.auditLog.sequencer.tick()). */
  auditSequencer?: boolean;
  /** Seals identity secrets (TOTP secrets, emails); default: the keyring's platform keys (identity/README.md). */
  sealer?: SecretSealer;
  /** The root key (serve passes the one `prepare` unsealed); default: opened, or created on first start, at first use (keys/README.md). */
  rootKey?: RootKeySource;
}

/** The running composition: what the CLI serves and what tests drive. */
export interface Custos {
  config: Config;
  app: App;
  db: Db;
  audit: AuditRecorder;
  auditLog: AuditLog;
  forwarders: ForwarderSet;
  identity: IdentityService;
  /** Just-in-time access requests; expired grants are swept (and audited) every minute. */
  accessRequests: AccessRequestService;
  tenants: TenantService;
  keys: KeyringCore;
  keyAdmin: KeyAdmin;
  integrations: IntegrationService;
  /** The personal-data vault: collections, records, subject view (vault/README.md). */
  vault: VaultService;
  /** The SIEM runtime: worker, notifier, alert and rule API (siem/README.md). */
  siem: Siem;
  /** The RFC 5425 syslog listener (siem.ingest.syslog), null when off. */
  syslogIngest: SyslogListener | null;
  close(): Promise<void>;
}

/** What CLI verbs need without the HTTP server: storage, audit and identity (the setup token). */
export interface CustosCore {
  config: Config;
  clock: Clock;
  logger: Logger;
  rawDb: Db;
  db: Db;
  audit: AuditRecorder;
  identity: IdentityService;
  /** The key hierarchy; its root key is unsealed at first use (`keys.ready()` forces it). */
  keys: KeyringCore;
}

/** Opens the database (migrating it) and the trust base. */
export async function openCore(config: Config, options: CustosOptions = {}): Promise<CustosCore> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const rawDb = openDatabase({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    appRole: config.database.appRole,
    poolSize: config.database.poolSize,
    groupCommitMax: config.database.groupCommitMax,
  });
  try {
    await rawDb.migrate();
  } catch (e) {
    await rawDb.close();
    throw e;
  }
  const db = options.wrapDb ? options.wrapDb(rawDb) : rawDb;
  const audit = createAuditRecorder({ clock, db });
  const guard = createGuard({ audit, clock, stepUpMinutes: config.identity.mfa.stepUpMinutes });
  const keys = createKeyring({
    db,
    audit,
    clock,
    cache: config.keys.cache,
    rootKey: options.rootKey ?? ((hasWrappedKeys) => ensureRootKey(config, hasWrappedKeys)),
  });
  const identity = createIdentityService({
    db,
    audit,
    guard,
    clock,
    // Identity secrets (TOTP secrets, emails, names, reasons) under the platform DEK; blind indexes under the platform index key.
    sealer: options.sealer ?? createKeyringSealer(keys),
    config: config.identity,
    setupTokenTtlHours: config.bootstrap.tokenTtlHours,
  });
  return { config, clock, logger, rawDb, db, audit, identity, keys };
}

/**
 * Composition root: config → database (migrated) → trust base → services →
 * HTTPS API. Each module registers its own routes; nothing here knows their insides.
 */
export async function createCustos(config: Config, options: CustosOptions = {}): Promise<Custos> {
  const core = await openCore(config, options);
  const { db, rawDb, audit, identity, clock, logger } = core;
  const metrics = createMetrics();
  const guard = identity.deps.guard;
  const idempotency = createIdempotencyService({ db, clock });
  const tenants = createTenantService({ db, audit, guard, idempotency, clock });
  const { keys } = core;
  const keyAdmin = createKeyAdmin({ core: keys, guard, idempotency });
  const integrations = createIntegrationService({ db, audit, guard, idempotency, clock, keys, tenants });
  const vault = createVaultService({ db, audit, guard, idempotency, clock, keys, tenants, blobDir: blobDirFor(config.dataDir) });
  const ingest = createIngestService({ db, audit, guard, idempotency, clock, tenants });
  const accessRequests = createAccessRequestService({ db, audit, guard, clock, sealer: identity.deps.sealer });
  const auditLog = await createAuditLog({
    config,
    db,
    clock,
    guard,
    audit,
    logger,
    // The checkpoint signing key is a platform key, wrapped by the root key (keys/README.md): the current
    // version is asked before each sequencer drain, and every version is trusted for verification.
    signer: options.auditSigner ?? (() => keys.auditSigner()),
    publicKeys: options.auditSigner ? undefined : async () => (await keys.auditPublicKeys()).map((k) => k.publicKey),
    runSequencer: options.auditSequencer,
    onAppended: () => {
      forwarders.wake();
      siem.wake();
    },
  });
  const forwarders = createForwarders(config.audit.forwarders, { source: auditLog.source, db, clock, metrics, logger });
  const siem = createSiem({ config, db, audit, guard, clock, logger, sealer: identity.deps.sealer, source: auditLog.source, reader: auditLog.reader, getAccount: (ctx, id) => identity.getAccount(ctx, id), metrics });

  const app = await buildServer({
    config,
    db,
    clock,
    metrics,
    logger,
    https: options.https,
    authenticators: [(token, request) => identity.authenticateBearer(token, request.ip ?? null)],
    cookieAuth: { name: SESSION_COOKIE, authenticate: (token) => identity.authenticateSession(token), csrfMatches },
    modules: [(a) => registerTenantRoutes(a, { tenants, idempotency }), (a) => auditLog.register(a), (a) => registerIdentityRoutes(a, identity),
      (a) => registerKeyRoutes(a, { admin: keyAdmin, idempotency }),
      (a) => registerIntegrationRoutes(a, { integrations, idempotency }),
      (a) => registerVaultRoutes(a, { vault, idempotency }),
      (a) => registerAccessRequestRoutes(a, accessRequests),
      (a) => registerIngestRoutes(a, { ingest }),
      (a) => siem.register(a),
    ],
  });

  auditLog.start();
  const syslogIngest = await createSyslogIngest(config, { ingest, clock, logger, metrics });
  await syslogIngest?.start();
  forwarders.start();
  siem.start();
  const expiry = setInterval(() => void accessRequests.sweep(systemContext('access-expiry')).catch((err: unknown) => logger.warn({ err }, 'access grant sweep failed')), 60_000);
  expiry.unref();
  return {
    config,
    app,
    db,
    audit,
    auditLog,
    forwarders,
    identity,
    accessRequests,
    tenants,
    keys,
    keyAdmin,
    integrations,
    vault,
    siem,
    syslogIngest,
    async close() {
      clearInterval(expiry);
      await syslogIngest?.close();
      await app.close();
      await forwarders.stop();
      await siem.stop();
      await auditLog.stop();
      await keys.close();
      await rawDb.close();
    },
  };
}
