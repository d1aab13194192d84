/**
 * The forwarder loop: read after the durable cursor, send, and advance the
 * cursor only once the destination acknowledged. Failures back off with
 * jitter and are kept for status; nothing here throws into the process.
 */
import { systemClock, type Clock } from '../../shared/clock.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { prepareEntries } from './entries.js';
import { asForwardError, redact } from './errors.js';
import type {
  Cursor,
  CursorStore,
  ForwardBatch,
  ForwarderError,
  ForwarderLogger,
  ForwarderStatus,
  GaugeFactory,
  LogSource,
  Transport,
} from './types.js';

export interface ForwarderOptions {
  /** Unique per deployment: the cursor's key and the metrics label. */
  name: string;
  transport: Transport;
  source: LogSource;
  cursors: CursorStore;
  clock?: Clock;
  metrics?: GaugeFactory;
  logger?: ForwarderLogger;
  /** Most entries per send (default 500). */
  batchSize?: number;
  /** Pause when there is nothing to send (default 1000 ms; `wake()` cuts it short). */
  pollIntervalMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Jitter source, [0, 1) (tests). */
  random?: () => number;
}

export type TickResult =
  | { ok: true; sent: number; checkpoint: boolean; lag: number }
  | { ok: false; error: ForwarderError; retryInMs: number };

export interface Forwarder {
  readonly name: string;
  /** Starts the loop in the background. A stopped forwarder is not restarted: create a new one. */
  start(): void;
  /** Stops the loop, aborting an in-flight send (not acknowledged, so not counted), and closes the transport. */
  stop(): Promise<void>;
  /** One attempt: at most one batch. Serialised with the loop; never throws. */
  tick(): Promise<TickResult>;
  /** Ends an idle pause early (new entries or a new checkpoint); does not shorten a backoff. */
  wake(): void;
  status(): ForwarderStatus;
}

export const LAG_GAUGE = 'custos_audit_forwarder_lag';
export const FAILURES_GAUGE = 'custos_audit_forwarder_consecutive_failures';

const silent: ForwarderLogger = { info() {}, warn() {} };

/** Creates a forwarder; see README.md for its guarantees. */
export function createForwarder(options: ForwarderOptions): Forwarder {
  return new ForwarderImpl(options);
}

class ForwarderImpl implements Forwarder {
  readonly name: string;
  readonly #o: Required<Pick<ForwarderOptions, 'transport' | 'source' | 'cursors' | 'clock' | 'logger' | 'batchSize' | 'pollIntervalMs' | 'random'>>;
  readonly #backoff: BackoffOptions;
  readonly #lag: ReturnType<GaugeFactory['gauge']> | undefined;
  readonly #failuresGauge: ReturnType<GaugeFactory['gauge']> | undefined;
  #cursor: Cursor | undefined;
  #lagValue: number | undefined;
  #failures = 0;
  #retryInMs = 0;
  #lastError: ForwarderError | null = null;
  #lastSuccessAt: string | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  #running = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #sleep: { timer: NodeJS.Timeout; done: () => void; idle: boolean } | undefined;

  constructor(o: ForwarderOptions) {
    this.name = o.name;
    this.#o = {
      transport: o.transport,
      source: o.source,
      cursors: o.cursors,
      clock: o.clock ?? systemClock,
      logger: o.logger ?? silent,
      batchSize: o.batchSize ?? 500,
      pollIntervalMs: o.pollIntervalMs ?? 1000,
      random: o.random ?? Math.random,
    };
    this.#backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
    const labels = ['forwarder'] as const;
    this.#lag = o.metrics?.gauge(LAG_GAUGE, 'Audit log entries the forwarder destination has not acknowledged yet', labels);
    this.#failuresGauge = o.metrics?.gauge(FAILURES_GAUGE, 'Consecutive failed attempts of the audit forwarder (0 when healthy)', labels);
  }

  start(): void {
    if (this.#stopped) throw new Error(`forwarder ${this.name} was stopped; create a new one`);
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run().catch((e: unknown) => {
      // Unreachable by design (tick never throws); kept so a bug cannot crash the process.
      this.#o.logger.warn({ forwarder: this.name, err: redact(String(e)) }, 'audit forwarder loop ended unexpectedly');
      this.#running = false;
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running = false;
    this.#endSleep(false);
    await this.#o.transport.close();
    await this.#loop;
    await this.#chain;
  }

  tick(): Promise<TickResult> {
    const next = this.#chain.then(() => this.#attempt());
    this.#chain = next.catch(() => undefined);
    return next;
  }

  wake(): void {
    this.#endSleep(true);
  }

  status(): ForwarderStatus {
    return {
      name: this.name,
      kind: this.#o.transport.kind,
      running: this.#running,
      nextIndex: this.#cursor?.nextIndex,
      checkpointSize: this.#cursor?.checkpointSize,
      lag: this.#lagValue,
      failures: this.#failures,
      retryInMs: this.#retryInMs,
      lastError: this.#lastError,
      lastSuccessAt: this.#lastSuccessAt,
    };
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const result = await this.tick();
      if (!this.#running) break;
      if (!result.ok) await this.#pause(result.retryInMs, false);
      else if (result.sent === 0 && !result.checkpoint) await this.#pause(this.#o.pollIntervalMs, true);
    }
  }

  #pause(ms: number, idle: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#sleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#sleep = { timer, done, idle };
    });
  }

  /** Ends the current pause; `onlyIdle`: leave a backoff pause alone. */
  #endSleep(onlyIdle: boolean): void {
    const sleep = this.#sleep;
    if (!sleep || (onlyIdle && !sleep.idle)) return;
    clearTimeout(sleep.timer);
    sleep.done();
  }

  async #attempt(): Promise<TickResult> {
    try {
      const { sent, checkpoint, lag } = await this.#forwardOnce();
      this.#succeeded();
      return { ok: true, sent, checkpoint, lag };
    } catch (e) {
      return this.#failed(e);
    }
  }

  async #forwardOnce(): Promise<{ sent: number; checkpoint: boolean; lag: number }> {
    const o = this.#o;
    const cursor = this.#cursor ?? (await o.cursors.get(this.name)) ?? { nextIndex: 0, checkpointSize: 0 };
    this.#cursor = cursor;
    const [latest, latestCheckpoint] = await Promise.all([o.source.latestIndex(), o.source.latestCheckpoint()]);
    this.#setLag(latest - cursor.nextIndex + 1);
    const stored = latest >= cursor.nextIndex ? await o.source.entriesAfter(cursor.nextIndex - 1, o.batchSize) : [];
    const batch: ForwardBatch = { entries: prepareEntries(stored, cursor.nextIndex) };
    // The newest checkpoint goes out as soon as there is one newer than the last acknowledged,
    // even ahead of its entries: a witness is worth most when it is fresh.
    if (latestCheckpoint && latestCheckpoint.size > cursor.checkpointSize) batch.checkpoint = latestCheckpoint;
    if (batch.entries.length === 0 && !batch.checkpoint) return { sent: 0, checkpoint: false, lag: this.#lagValue ?? 0 };

    await o.transport.send(batch);
    const last = batch.entries.at(-1);
    const advanced: Cursor = {
      nextIndex: last ? last.index + 1 : cursor.nextIndex,
      checkpointSize: batch.checkpoint?.size ?? cursor.checkpointSize,
    };
    await o.cursors.advance(this.name, advanced);
    this.#cursor = advanced;
    this.#setLag(Math.max(latest, last?.index ?? -1) - advanced.nextIndex + 1);
    return { sent: batch.entries.length, checkpoint: Boolean(batch.checkpoint), lag: this.#lagValue ?? 0 };
  }

  #setLag(lag: number): void {
    this.#lagValue = Math.max(0, lag);
    this.#lag?.set({ forwarder: this.name }, this.#lagValue);
  }

  #succeeded(): void {
    if (this.#failures > 0) {
      this.#o.logger.info({ forwarder: this.name, failures: this.#failures }, 'audit forwarder recovered');
    }
    this.#failures = 0;
    this.#retryInMs = 0;
    this.#lastSuccessAt = this.#o.clock.now().toISOString();
    this.#failuresGauge?.set({ forwarder: this.name }, 0);
  }

  #failed(e: unknown): TickResult {
    const error = asForwardError(e);
    this.#failures += 1;
    this.#retryInMs = backoffDelay(this.#failures, this.#backoff, this.#o.random);
    this.#lastError = { code: error.code, message: redact(error.message), at: this.#o.clock.now().toISOString() };
    this.#failuresGauge?.set({ forwarder: this.name }, this.#failures);
    if (!this.#stopped) {
      this.#o.logger.warn(
        { forwarder: this.name, code: error.code, failures: this.#failures, retryInMs: this.#retryInMs },
        `audit forwarder failed: ${this.#lastError.message}`,
      );
    }
    return { ok: false, error: this.#lastError, retryInMs: this.#retryInMs };
  }
}
