/**
 * The notification queue's sender: at least once. Queued rows (written with
 * their alert, in the worker's batch) are sent when due; a success marks the
 * row sent, a failure counts an attempt and schedules the next with
 * exponential backoff and jitter, and after `maxAttempts` the row is given up
 * (`dead`, a high-severity `siem.notification.dead` event). Each outcome is
 * one transaction with its audit event. A crash between sending and marking
 * sends again: receivers dedupe by the `Custos-Delivery` id.
 */
import { ACTIVITY, OCSF, type AuditRecorder } from '../audit/index.js';
import { backoffDelay } from '../audit/forward/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { systemContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { dueNotifications, nextDueAt, settleNotification, type NotificationRow } from './store-queue.js';
import { Loop } from './loop.js';
import type { Channel } from './raise.js';
import type { WorkerLogger } from './worker.js';
import { SIEM_ACTOR } from './worker.js';

/** A destination. `send` resolves once the destination took the notification; rejects otherwise. */
export interface Sender extends Channel {
  send(n: { id: string; alertId: string; payload: string }): Promise<void>;
  close(): Promise<void>;
}

export interface NotifierOptions {
  db: Db;
  audit: AuditRecorder;
  clock: Clock;
  logger: WorkerLogger;
  senders: readonly Sender[];
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  /** Sends only while this process holds the worker's lease. */
  isLeader: () => boolean;
  pollMs: number;
  random?: () => number;
}

/** Error text as stored and logged: no URL credentials or query strings, bounded. */
function safeMessage(e: unknown): string {
  const text = isCustosError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  return text.replace(/\/\/[^/@\s]*@/g, '//').replace(/\?[^\s]*/g, '').slice(0, 300);
}

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #senders: Map<string, Sender>;
  readonly #loop = new Loop(() => this.#cycle());

  constructor(options: NotifierOptions) {
    this.#o = options;
    this.#senders = new Map(options.senders.map((s) => [s.name, s]));
  }

  get channels(): readonly Sender[] {
    return this.#o.senders;
  }

  /** Sends what is due now; returns how many were sent and failed. Serialised with the loop. */
  tick(): Promise<{ sent: number; failed: number }> {
    return this.#loop.run(() => this.#round());
  }

  start(): void {
    this.#loop.start();
  }

  wake(): void {
    this.#loop.wake();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.all(this.#o.senders.map((s) => s.close().catch(() => undefined)));
  }

  /** A loop round: never throws; sleeps until the next notification is due (at most pollMs). */
  async #cycle(): Promise<number> {
    let pause = this.#o.pollMs;
    try {
      await this.#round();
      const next = await this.#o.db.read((tx) => nextDueAt(tx));
      if (next) pause = Math.max(0, Math.min(pause, Date.parse(next) - this.#o.clock.now().getTime()));
    } catch (e) {
      this.#o.logger.warn({ code: isCustosError(e) ? e.code : 'INTERNAL' }, `siem notifier round failed: ${safeMessage(e)}`);
    }
    return Math.max(pause, 20);
  }

  async #round(): Promise<{ sent: number; failed: number }> {
    if (this.#senders.size === 0 || !this.#o.isLeader()) return { sent: 0, failed: 0 };
    const due = await this.#o.db.read((tx) => dueNotifications(tx, this.#o.clock.now().toISOString(), 50));
    const results = await Promise.all(due.map((n) => this.#deliver(n)));
    const sent = results.filter(Boolean).length;
    return { sent, failed: results.length - sent };
  }

  async #deliver(n: NotificationRow): Promise<boolean> {
    const sender = this.#senders.get(n.channel);
    try {
      if (!sender) throw new Error(`channel ${n.channel} is not configured`);
      await sender.send({ id: n.id, alertId: n.alert_id, payload: n.payload });
    } catch (e) {
      await this.#failed(n, safeMessage(e));
      return false;
    }
    const now = this.#o.clock.now().toISOString();
    await this.#o.db.write(async (tx) => {
      if (!(await settleNotification(tx, n.id, { state: 'sent', attempts: n.attempts + 1, sent_at: now, last_error: null }))) return;
      await this.#o.audit.record(tx, systemContext(SIEM_ACTOR), this.#event('siem.notification.sent', n, 'success', { attempts: n.attempts + 1 }));
    });
    return true;
  }

  async #failed(n: NotificationRow, message: string): Promise<void> {
    const attempts = n.attempts + 1;
    const dead = attempts >= this.#o.maxAttempts;
    const now = this.#o.clock.now();
    const next = new Date(now.getTime() + backoffDelay(attempts, this.#o.backoff, this.#o.random)).toISOString();
    this.#o.logger.warn({ channel: n.channel, notification: n.id, attempts, dead }, `siem notification failed: ${message}`);
    await this.#o.db.write(async (tx) => {
      const patch = dead ? { state: 'dead' as const, attempts, last_error: message } : { attempts, next_attempt_at: next, last_error: message };
      if (!(await settleNotification(tx, n.id, patch))) return;
      if (dead) await this.#o.audit.record(tx, systemContext(SIEM_ACTOR), this.#event('siem.notification.dead', n, 'failure', { attempts, error: message }));
    });
  }

  #event(action: string, n: NotificationRow, outcome: 'success' | 'failure', details: Record<string, string | number>) {
    return {
      classUid: OCSF.API_ACTIVITY,
      activityId: ACTIVITY.OTHER,
      action,
      kind: outcome === 'failure' ? ('security' as const) : ('system' as const),
      outcome,
      severity: outcome === 'failure' ? ('high' as const) : ('informational' as const),
      target: { type: 'siem_notification', id: n.id },
      details: { alertId: n.alert_id, channel: n.channel, ...details },
    };
  }
}
