/**
 * The audit log as the composition root sees it: sequencer, scheduled
 * verification, reading service and routes, and the LogSource forwarders
 * read. Without a checkpoint signer nothing is sequenced (the outbox keeps
 * every event, nothing is lost) and a warning says why.
 */
import type { Guard } from '../access/index.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { App } from '../server/types.js';
import type { Clock } from '../shared/clock.js';
import type { LogSource } from './forward/types.js';
import { createLogSource } from './log-source.js';
import type { AuditRecorder } from './outbox/recorder.js';
import { ensureRetention } from './retention.js';
import { registerAuditRoutes } from './routes.js';
import { createVerifyJob, type VerifyJob } from './scheduler.js';
import { createSequencer, type Sequencer } from './sequencer/index.js';
import { createAuditReadService, type AuditReadService } from './service.js';
import { checkpointKey, type CheckpointKey, type CheckpointSigner } from './signer.js';

export interface AuditLogLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AuditLogOptions {
  config: Config;
  db: Db;
  clock: Clock;
  guard: Guard;
  audit: AuditRecorder;
  logger: AuditLogLogger;
  /** The keyring's audit signing key; undefined: no sequencing (warned). */
  signer: CheckpointSigner | undefined;
  /** Overrides config.audit.sequencer.enabled (tests drive tick() themselves). */
  runSequencer?: boolean | undefined;
  /** Called after new entries or a checkpoint were committed. */
  onAppended?: (() => void) | undefined;
}

export interface AuditLog {
  readonly key: CheckpointKey | undefined;
  /** Undefined without a signer. */
  readonly sequencer: Sequencer | undefined;
  readonly verifyJob: VerifyJob | undefined;
  readonly reader: AuditReadService;
  readonly source: LogSource;
  register(app: App): void;
  start(): void;
  stop(): Promise<void>;
}

/** Builds the audit log (checking the retention high-water mark); `start()` starts its workers. */
export async function createAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { config, db, clock, logger } = options;
  const origin = config.deploymentName;
  await ensureRetention(db, config.audit.retentionDays, clock);
  const key = options.signer ? checkpointKey(origin, options.signer) : undefined;
  const s = config.audit.sequencer;
  const sequencer = key
    ? createSequencer({
        db,
        key,
        origin,
        batchSize: s.batchSize,
        pollMs: s.pollMs,
        checkpointIntervalMs: s.checkpointIntervalMs,
        logger,
        onAppended: options.onAppended,
        now: () => clock.now(),
      })
    : undefined;
  const verifyJob = key
    ? createVerifyJob({ db, audit: options.audit, key, origin, clock, intervalHours: config.audit.verifyIntervalHours, logger })
    : undefined;
  const reader = createAuditReadService({ db, guard: options.guard, audit: options.audit, origin, verifier: key });
  const runSequencer = options.runSequencer ?? s.enabled;
  return {
    key,
    sequencer,
    verifyJob,
    reader,
    source: createLogSource(db),
    register: (app) => registerAuditRoutes(app, { reader }),
    start() {
      if (!key) {
        logger.warn({ code: 'AUDIT_SIGNER_MISSING' }, 'audit sequencer not started: no checkpoint signing key; events wait in the outbox');
        return;
      }
      if (runSequencer) sequencer?.start();
      verifyJob?.start();
    },
    async stop() {
      verifyJob?.stop();
      await sequencer?.stop();
    },
  };
}
