/**
 * The SIEM runtime (README.md): a worker that evaluates the sequenced audit
 * log with the Sigma rule set by durable cursor, alerts with a lifecycle,
 * notifications (webhook, SMTP, syslog) with retries, opt-in responses, and
 * the API. The module's only entry; the engine is ./sigma, ingestion ./ingest.
 */
import type { Guard } from '../access/index.js';
import type { AuditReadService, AuditRecorder } from '../audit/index.js';
import type { GaugeFactory, LogSource } from '../audit/forward/index.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { SecretSealer } from '../identity/index.js';
import type { App } from '../server/types.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { createSenders } from './channels/index.js';
import { Notifier } from './notifier.js';
import { registerSiemRoutes } from './routes.js';
import { loadRules, packDirectory, type LoadedRules } from './rules.js';
import { createSiemService, type SiemService } from './service.js';
import { SiemWorker, type WorkerLogger } from './worker.js';

export { SiemWorker, isOwnEvent, SIEM_ACTOR, LAG_GAUGE, type WorkerStatus, type WorkerTick } from './worker.js';
export { Notifier, type Sender } from './notifier.js';
export { loadRules, packDirectory, type LoadedRules } from './rules.js';
export { createSiemService, type SiemService } from './service.js';
export type { Alert, AlertDetail, AlertNote, AlertResponse, RuleView, ResponseAction, AlertState } from './types.js';

export interface SiemDeps {
  config: Config;
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  clock: Clock;
  logger: WorkerLogger;
  sealer: SecretSealer;
  source: LogSource;
  reader: Pick<AuditReadService, 'inclusionProof'>;
  /** Resolves an account for the assignee check (identity.getAccount). */
  getAccount: (ctx: RequestContext, id: string) => Promise<{ realm: 'platform' | 'tenant'; status: string }>;
  /** Where notification secrets are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The built-in pack directory (default: the package's rules/sigma). */
  packDir?: string;
  /** Prometheus gauges (`custos_siem_lag`). */
  metrics?: GaugeFactory;
  /** Tests: runs in the worker's batch transaction before it commits. */
  beforeCommit?: () => void | Promise<void>;
}

export interface Siem {
  readonly rules: LoadedRules;
  readonly worker: SiemWorker;
  readonly notifier: Notifier;
  readonly service: SiemService;
  register(app: App): void;
  /** Starts the worker and the notifier (when `siem.enabled`). */
  start(): void;
  /** New log entries: evaluate now rather than at the next poll. */
  wake(): void;
  stop(): Promise<void>;
}

/** Loads the rules and builds the senders (a bad rule file or a missing secret fails here, at start). */
export function createSiem(deps: SiemDeps): Siem {
  const config = deps.config.siem;
  const rules = loadRules(config, deps.packDir ?? packDirectory(), (msg) => deps.logger.warn({ code: 'SIEM_RULES_UNREADABLE' }, msg));
  const senders = createSenders(config.notifications, { clock: deps.clock, env: deps.env ?? process.env });
  // The notifier asks the worker for the lease; the worker wakes the notifier: each refers to the other lazily.
  const worker = new SiemWorker({
    db: deps.db,
    source: deps.source,
    audit: deps.audit,
    clock: deps.clock,
    logger: deps.logger,
    rules,
    config,
    channels: senders,
    onQueued: () => notifier.wake(),
    beforeCommit: deps.beforeCommit,
    metrics: deps.metrics,
  });
  const notifier = new Notifier({
    db: deps.db,
    audit: deps.audit,
    clock: deps.clock,
    logger: deps.logger,
    senders,
    maxAttempts: config.notifications.maxAttempts,
    backoff: { baseMs: config.notifications.backoffBaseMs, maxMs: config.notifications.backoffMaxMs },
    isLeader: () => worker.isLeader(),
    pollMs: Math.max(config.pollMs, 200),
  });
  const service = createSiemService({
    db: deps.db,
    audit: deps.audit,
    guard: deps.guard,
    clock: deps.clock,
    sealer: deps.sealer,
    reader: deps.reader,
    rules,
    config,
    onRulesChanged: () => worker.invalidateSettings(),
    isPlatformAccount: async (ctx, id) => {
      try {
        const a = await deps.getAccount(ctx, id);
        return a.realm === 'platform' && a.status === 'active';
      } catch (e) {
        if (isCustosError(e) && e.code === 'ACCOUNT_NOT_FOUND') return false;
        throw e;
      }
    },
  });
  const n = notifier;
  let started = false;
  return {
    rules,
    worker,
    notifier: n,
    service,
    register: (app) => registerSiemRoutes(app, service),
    start() {
      if (!config.enabled || started) return;
      started = true;
      worker.start();
      n.start();
    },
    wake: () => worker.wake(),
    async stop() {
      // Notifier first: it finishes in-flight sends while this process still holds the lease.
      await n.stop();
      await worker.stop();
    },
  };
}
