/**
 * The SIEM worker: reads the sequenced log after its durable cursor,
 * evaluates each event with the compiled rule set, and commits, in ONE
 * transaction per batch, the alerts (and their notifications and responses),
 * the engine's window state and the advanced cursor. A batch that fails to
 * commit leaves nothing: the in-memory state is dropped and reloaded from the
 * stored snapshot, and the same entries are evaluated again, so a restart or
 * a crash neither misses nor repeats an alert. One process evaluates at a
 * time: it holds a lease in siem_state, and the cursor moves only by
 * compare-and-set from the value it read, by the lease holder.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { AuditRecorder, OcsfEvent } from '../audit/index.js';
import { backoffDelay, type GaugeFactory, type LogSource } from '../audit/forward/index.js';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import { systemContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { siemErrors } from './errors.js';
import { Loop } from './loop.js';
import { raise, type Channel } from './raise.js';
import { compileWith, effectiveSettings, type LoadedRules, type SiemConfig } from './rules.js';
import type { RuleSet, SigmaMatch } from './sigma/index.js';
import { advanceState, ensureState, readState, releaseLease, takeLease } from './store.js';
import { listSettings, settingsVersion, type SettingsRow } from './store-queue.js';

/** The actor of everything the worker does; events by it (and every `siem.*` action) are never evaluated. */
export const SIEM_ACTOR = 'siem';
export const LAG_GAUGE = 'custos_siem_lag';

export interface WorkerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WorkerOptions {
  db: Db;
  source: LogSource;
  audit: AuditRecorder;
  clock: Clock;
  logger: WorkerLogger;
  rules: LoadedRules;
  config: SiemConfig;
  channels: readonly Channel[];
  /** Called after a batch queued notifications (wakes the notifier). */
  onQueued?: () => void;
  /** Row of siem_state (default `engine`). */
  name?: string;
  /** Prometheus gauges (server/metrics.ts): `custos_siem_lag`, entries not yet evaluated. */
  metrics?: GaugeFactory;
  /** Tests: runs inside the batch transaction just before it commits (throw to simulate a crash). */
  beforeCommit?: () => void | Promise<void>;
}

export interface WorkerStatus {
  leader: boolean;
  nextIndex: number | undefined;
  alertsCreated: number;
  failures: number;
  lastError: { code: string; message: string; at: string } | null;
}

export type WorkerTick = { evaluated: number; matches: number; created: number; leader: boolean; full: boolean };

interface Loaded {
  nextIndex: number;
  ruleSet: RuleSet;
  settings: Map<string, SettingsRow>;
  version: string;
}

/** Events the SIEM wrote itself (alerts, notifications, responses, rule changes): evaluating them could loop. */
export function isOwnEvent(event: OcsfEvent): boolean {
  const action = (event.custos as { action?: unknown } | null)?.action;
  if (typeof action === 'string' && action.startsWith('siem.')) return true;
  const user = (event.actor as { user?: { type?: unknown; uid?: unknown } } | null)?.user;
  return user?.type === 'system' && user.uid === SIEM_ACTOR;
}

function eventTime(event: OcsfEvent, fallback: number): number {
  if (typeof event.time === 'number' && Number.isFinite(event.time)) return event.time;
  const t = typeof event.time_dt === 'string' ? Date.parse(event.time_dt) : NaN;
  return Number.isFinite(t) ? t : fallback;
}

export class SiemWorker {
  readonly owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #o: WorkerOptions;
  readonly #name: string;
  #state: Loaded | undefined;
  #leaseUntil = 0;
  readonly #loop = new Loop(() => this.#round());
  #lag: ReturnType<GaugeFactory['gauge']> | undefined;
  #status: WorkerStatus = { leader: false, nextIndex: undefined, alertsCreated: 0, failures: 0, lastError: null };

  constructor(options: WorkerOptions) {
    this.#o = options;
    this.#name = options.name ?? 'engine';
    this.#lag = options.metrics?.gauge(LAG_GAUGE, 'Audit log entries the SIEM has not evaluated yet');
  }

  isLeader(): boolean {
    return this.#leaseUntil > this.#o.clock.now().getTime();
  }

  status(): WorkerStatus {
    return { ...this.#status, leader: this.isLeader(), nextIndex: this.#state?.nextIndex };
  }

  /** One batch at most; serialised with the loop. Throws on failure (the loop backs off). */
  tick(): Promise<WorkerTick> {
    return this.#loop.run(() => this.#batch());
  }

  /** Recompile at the next tick (rule settings changed in this process). */
  invalidateSettings(): void {
    if (this.#state) this.#state.version = '';
    this.wake();
  }

  start(): void {
    this.#loop.start();
  }

  wake(): void {
    this.#loop.wake();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    if (this.#leaseUntil > 0) {
      this.#leaseUntil = 0;
      await this.#o.db.write((tx) => releaseLease(tx, this.#name, this.owner)).catch(() => undefined);
    }
  }

  /** A loop round: never throws; the pause after it (none after a full batch, backoff after a failure). */
  async #round(): Promise<number> {
    try {
      const r = await this.#batch();
      this.#status.failures = 0;
      return r.full ? 0 : this.#o.config.pollMs;
    } catch (e) {
      this.#status.failures += 1;
      const code = isCustosError(e) ? e.code : 'INTERNAL';
      this.#status.lastError = { code, message: e instanceof Error ? e.message : String(e), at: this.#o.clock.now().toISOString() };
      if (code !== 'SIEM_CURSOR_MOVED') this.#o.logger.warn({ code, failures: this.#status.failures }, `siem worker batch failed: ${this.#status.lastError.message}`);
      return backoffDelay(this.#status.failures, { baseMs: 200, maxMs: 30_000 });
    }
  }

  /** Holds the lease; renews it once half of it has passed. */
  async #lease(): Promise<boolean> {
    const now = this.#o.clock.now().getTime();
    const leaseMs = this.#o.config.leaseSeconds * 1000;
    if (this.#leaseUntil - leaseMs / 2 > now) return true;
    const until = now + leaseMs;
    const ok = await this.#o.db.write(async (tx) => {
      await ensureState(tx, this.#name, new Date(now).toISOString());
      return takeLease(tx, this.#name, this.owner, new Date(now).toISOString(), new Date(until).toISOString());
    });
    // Another process may have moved the cursor while we did not hold the lease: reload.
    if (!ok || this.#leaseUntil <= now) this.#state = undefined;
    this.#leaseUntil = ok ? until : 0;
    return ok;
  }

  async #load(): Promise<Loaded> {
    const { db, rules } = this.#o;
    const [row, rows, version] = await db.read(async (tx) => [await readState(tx, this.#name), await listSettings(tx), await settingsVersion(tx)] as const);
    const settings = new Map(rows.map((r) => [r.rule_id, r]));
    const ruleSet = compileWith(rules, settings);
    if (row?.snapshot) ruleSet.restore(JSON.parse(row.snapshot));
    return { nextIndex: Number(row?.next_index ?? 0), ruleSet, settings, version };
  }

  /** Recompiles when the settings changed, carrying the window state over. */
  async #refresh(state: Loaded): Promise<void> {
    const version = await this.#o.db.read((tx) => settingsVersion(tx));
    if (version === state.version) return;
    const rows = await this.#o.db.read((tx) => listSettings(tx));
    state.settings = new Map(rows.map((r) => [r.rule_id, r]));
    const snapshot = state.ruleSet.snapshot();
    state.ruleSet = compileWith(this.#o.rules, state.settings);
    state.ruleSet.restore(snapshot);
    state.version = version;
  }

  async #batch(): Promise<WorkerTick> {
    const { db, source, config, clock } = this.#o;
    if (!(await this.#lease())) return { evaluated: 0, matches: 0, created: 0, leader: false, full: false };
    if (this.#state) await this.#refresh(this.#state);
    const state = (this.#state ??= await this.#load());
    const latest = await source.latestIndex();
    this.#lag?.set({}, Math.max(0, latest - state.nextIndex + 1));
    const entries = latest >= state.nextIndex ? await source.entriesAfter(state.nextIndex - 1, config.batchSize) : [];
    if (entries.length === 0) return { evaluated: 0, matches: 0, created: 0, leader: true, full: false };
    const found: Array<{ match: SigmaMatch; event: OcsfEvent }> = [];
    const now = clock.now().getTime();
    try {
      for (const entry of entries) {
        const event = JSON.parse(entry.eventJson) as OcsfEvent;
        if (isOwnEvent(event)) continue;
        for (const match of state.ruleSet.evaluate(event, { index: entry.index, time: eventTime(event, now) })) found.push({ match, event });
      }
    } catch (e) {
      this.#state = undefined;
      throw e;
    }
    const from = state.nextIndex;
    const to = (entries.at(-1)?.index ?? from - 1) + 1;
    const snapshot = JSON.stringify(state.ruleSet.snapshot());
    const ctx = systemContext(SIEM_ACTOR);
    let created = 0;
    let queued = 0;
    try {
      await db.write(async (tx) => {
        created = 0;
        queued = 0;
        if (!(await advanceState(tx, this.#name, this.owner, from, to, snapshot, clock.now().toISOString()))) throw siemErrors.cursorMoved();
        for (const { match, event } of found) {
          const settings = effectiveSettings(state.settings.get(match.ruleId), config.suppressionSeconds);
          const r = await raise({ audit: this.#o.audit, clock, channels: this.#o.channels }, tx, ctx, match, event, settings);
          if (r.created) created++;
          queued += r.queued;
        }
        await this.#o.beforeCommit?.();
      });
    } catch (e) {
      // Nothing of this batch committed: forget the evaluated state, re-read it (and the entries) next time.
      this.#state = undefined;
      throw e;
    }
    state.nextIndex = to;
    this.#lag?.set({}, Math.max(0, latest - to + 1));
    this.#status.alertsCreated += created;
    if (queued > 0) this.#o.onQueued?.();
    return { evaluated: entries.length, matches: found.length, created, leader: true, full: entries.length >= config.batchSize };
  }
}
