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
import { auditLogError } from './errors.js';
import { formatVerifierKey, noteVerifier, type NoteVerifier } from './log/index.js';
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
  /**
   * The audit signing key: the keyring's current version, asked again before
   * each sequencer drain so a rotation takes effect (or a fixed signer in
   * tests). Undefined: nothing is sequenced (warned).
   */
  signer: CheckpointSigner | (() => Promise<CheckpointSigner>) | undefined;
  /** Every public key the log was ever signed with (the keyring's versions); default: the signer's. */
  publicKeys?: (() => Promise<readonly Uint8Array[]>) | undefined;
  /** Overrides config.audit.sequencer.enabled (tests drive tick() themselves). */
  runSequencer?: boolean | undefined;
  /** Called after new entries or a checkpoint were committed. */
  onAppended?: (() => void) | undefined;
}

export interface AuditLog {
  /** Undefined without a signer. */
  readonly sequencer: Sequencer | undefined;
  readonly verifyJob: VerifyJob | undefined;
  readonly reader: AuditReadService;
  readonly source: LogSource;
  /** The current checkpoint key (AUDIT_SIGNER_MISSING without a signer). */
  currentKey(): Promise<CheckpointKey>;
  /** Verifiers for every key the log was signed with. */
  trustedKeys(): Promise<Array<{ verifierKey: string; verifier: NoteVerifier }>>;
  register(app: App): void;
  start(): void;
  stop(): Promise<void>;
}

const TRUST_CACHE_MS = 60_000;

/** Key handling: one CheckpointKey per signer public key, trusted keys cached for a minute. */
function keySource(origin: string, signer: AuditLogOptions['signer'], publicKeys: AuditLogOptions['publicKeys']) {
  const keys = new Map<string, CheckpointKey>();
  let trusted: { at: number; list: Array<{ verifierKey: string; verifier: NoteVerifier }> } | undefined;
  const currentKey = async (): Promise<CheckpointKey> => {
    if (signer === undefined) throw auditLogError('SIGNER_MISSING', 'no audit checkpoint signing key is configured');
    const s = typeof signer === 'function' ? await signer() : signer;
    const id = Buffer.from(s.publicKey).toString('hex');
    let key = keys.get(id);
    if (!key) keys.set(id, (key = checkpointKey(origin, s)));
    return key;
  };
  const trustedKeys = async () => {
    if (trusted && performance.now() - trusted.at < TRUST_CACHE_MS) return trusted.list;
    const list = publicKeys ? await publicKeys() : [(await currentKey()).signer.publicKey];
    trusted = { at: performance.now(), list: list.map((pk) => ({ verifierKey: formatVerifierKey(origin, pk), verifier: noteVerifier(origin, pk) })) };
    return trusted.list;
  };
  return { currentKey, trustedKeys };
}

/** Builds the audit log (checking the retention high-water mark and the signer); `start()` starts its workers. */
export async function createAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { config, db, clock, logger } = options;
  const origin = config.deploymentName;
  await ensureRetention(db, config.audit.retentionDays, clock);
  const { currentKey, trustedKeys } = keySource(origin, options.signer, options.publicKeys);
  const signed = options.signer !== undefined;
  if (signed) await currentKey();
  const s = config.audit.sequencer;
  const sequencer = signed
    ? createSequencer({
        db,
        key: currentKey,
        origin,
        batchSize: s.batchSize,
        pollMs: s.pollMs,
        checkpointIntervalMs: s.checkpointIntervalMs,
        logger,
        onAppended: options.onAppended,
        now: () => clock.now(),
      })
    : undefined;
  const verifiers = async () => (await trustedKeys()).map((k) => k.verifier);
  const verifyJob = signed
    ? createVerifyJob({ db, audit: options.audit, verifiers, origin, clock, intervalHours: config.audit.verifyIntervalHours, logger })
    : undefined;
  const reader = createAuditReadService({ db, guard: options.guard, audit: options.audit, origin, keys: trustedKeys });
  const runSequencer = options.runSequencer ?? s.enabled;
  return {
    sequencer,
    verifyJob,
    reader,
    source: createLogSource(db),
    currentKey,
    trustedKeys,
    register: (app) => registerAuditRoutes(app, { reader }),
    start() {
      if (!signed) {
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
