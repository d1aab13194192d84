/**
 * The scheduled verification: every `intervalHours` one Custos process (the
 * one that claims the slot in audit_state) verifies the whole stored log and
 * records the outcome as an audit event (`audit.verify`: success, or a
 * high-severity security failure naming the first bad index). Checks hourly,
 * first a few minutes after start so a restart storm does not verify at once.
 */
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { systemContext } from '../shared/context.js';
import { ACTIVITY, OCSF } from './events.js';
import type { AuditRecorder } from './outbox/recorder.js';
import type { NoteVerifier } from './log/index.js';
import { claimState } from './store.js';
import { verifyStoredLog, type StoredVerifyResult } from './verify/stored.js';

const LAST_RUN = 'verify.last_run_at';
const HOUR_MS = 3_600_000;

export interface VerifyJobOptions {
  db: Db;
  audit: AuditRecorder;
  /** Every key the log was signed with. */
  verifiers: () => Promise<readonly NoteVerifier[]>;
  origin: string;
  clock: Clock;
  intervalHours: number;
  firstCheckMs?: number;
  logger?: { error(obj: object, msg: string): void } | undefined;
}

export interface VerifyJob {
  start(): void;
  stop(): void;
  /** Verifies now and records the event, regardless of the schedule. */
  runOnce(): Promise<StoredVerifyResult>;
}

export function createVerifyJob(options: VerifyJobOptions): VerifyJob {
  const { db, audit, origin, clock } = options;
  let timer: NodeJS.Timeout | undefined;

  async function runOnce(): Promise<StoredVerifyResult> {
    const result = await verifyStoredLog(db, { verifier: await options.verifiers(), origin });
    const base = { classUid: OCSF.API_ACTIVITY, activityId: ACTIVITY.OTHER, action: 'audit.verify', target: { type: 'audit_log', id: origin } };
    if (result.ok) {
      await audit.recordAlone(systemContext('audit-verify'), {
        ...base,
        kind: 'system',
        outcome: 'success',
        details: { size: result.size, root: result.root.toString('base64'), checkpointSize: result.checkpointSize, floor: result.floor },
      });
    } else {
      await audit.recordAlone(systemContext('audit-verify'), {
        ...base,
        kind: 'security',
        outcome: 'failure',
        severity: 'high',
        details: { firstBadIndex: result.firstBadIndex, reason: result.reason, badRangeEnd: result.badRange.end },
      });
    }
    return result;
  }

  async function check(): Promise<void> {
    const now = clock.now();
    const notAfter = new Date(now.getTime() - options.intervalHours * HOUR_MS).toISOString();
    const claimed = await db.write((tx) => claimState(tx, LAST_RUN, now.toISOString(), notAfter)).catch(() => false);
    if (claimed) await runOnce();
  }

  const safeCheck = () => {
    check().catch((e: unknown) => options.logger?.error({ code: (e as { code?: string }).code }, 'scheduled audit verification failed to run'));
  };

  return {
    runOnce,
    start() {
      if (timer || options.intervalHours <= 0) return;
      timer = setTimeout(function tick() {
        safeCheck();
        timer = setTimeout(tick, HOUR_MS).unref();
      }, options.firstCheckMs ?? 5 * 60_000).unref();
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
