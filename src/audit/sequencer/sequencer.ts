/**
 * The audit sequencer loop: polls the outbox (every `pollMs` while idle, at
 * once after a full batch or a nudge), runs batches (batch.ts) and signs a
 * checkpoint at least every `checkpointIntervalMs` while entries arrive and
 * whenever the outbox runs dry after that interval. Runs in-process (started
 * by createCustos) or is driven by tests through `tick()`.
 */
import type { Db } from '../../db/index.js';
import type { TreeState } from '../log/index.js';
import { outboxPending } from '../outbox/store.js';
import type { CheckpointKey } from '../signer.js';
import { runBatch } from './batch.js';

export interface SequencerLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SequencerOptions {
  db: Db;
  /** The current checkpoint key, asked once per drain (outside any transaction) so a rotation takes effect. */
  key: () => Promise<CheckpointKey>;
  /** The checkpoint origin (config.deploymentName). */
  origin: string;
  batchSize: number;
  pollMs: number;
  checkpointIntervalMs: number;
  logger?: SequencerLogger | undefined;
  /** Called after a batch committed entries or a checkpoint (forwarders wake on it). */
  onAppended?: (() => void) | undefined;
  /** Wall-clock time for checkpoints (the injectable clock). */
  now: () => Date;
}

export interface TickResult {
  /** Entries integrated by this tick. */
  integrated: number;
  /** Tree size after the tick. */
  size: number;
  /** Size of the last checkpoint this tick signed. */
  checkpointSize: number | undefined;
  /** False when another process holds the sequencer lock (PostgreSQL). */
  locked: boolean;
}

export interface Sequencer {
  /** Drains the outbox; `checkpoint: true` signs a checkpoint of the final size whatever the cadence. */
  tick(options?: { checkpoint?: boolean }): Promise<TickResult>;
  start(): void;
  /** Stops the loop and waits for a batch in flight. */
  stop(): Promise<void>;
  /** Wakes an idle loop now (e.g. after a write). */
  nudge(): void;
}

const MAX_BACKOFF_MS = 5_000;

/** The tree as last committed here, and the cadence of checkpoints; drains the outbox batch by batch. */
class Drainer {
  state: TreeState | undefined;
  /** Size of the newest checkpoint seen (-1: not read yet). */
  attested = -1;
  lastSignedAt = performance.now();

  constructor(readonly options: SequencerOptions) {}

  get checkpointDue(): boolean {
    return performance.now() - this.lastSignedAt >= this.options.checkpointIntervalMs;
  }

  /** Batches until the outbox is drained (or another process holds the lock). */
  async drain(force: boolean): Promise<TickResult> {
    const { db } = this.options;
    const key = await this.options.key();
    const result: TickResult = { integrated: 0, size: this.state?.size ?? 0, checkpointSize: undefined, locked: true };
    for (;;) {
      const input = {
        key,
        origin: this.options.origin,
        state: this.state,
        limit: this.options.batchSize,
        now: this.options.now(),
        checkpointDue: force || this.checkpointDue,
        dialect: db.adapter.audit,
      };
      const r = await db.write((tx) => runBatch(tx, input));
      if (!r.locked) return { ...result, locked: false };
      this.state = r.state;
      this.attested = r.attested;
      result.integrated += r.integrated;
      result.size = r.state?.size ?? 0;
      if (r.checkpointSize !== undefined) {
        this.lastSignedAt = performance.now();
        result.checkpointSize = r.checkpointSize;
      }
      if (r.integrated > 0 || r.checkpointSize !== undefined) this.options.onAppended?.();
      if (r.drained) return result;
    }
  }

  /** Work to do: outbox rows, or entries not yet under a checkpoint once the interval passed. */
  async hasWork(): Promise<boolean> {
    if (this.state === undefined || this.attested < 0) return true;
    if (this.state.size > this.attested && this.checkpointDue) return true;
    return this.options.db.read((tx) => outboxPending(tx));
  }
}

export function createSequencer(options: SequencerOptions): Sequencer {
  const drainer = new Drainer(options);
  let chain: Promise<unknown> = Promise.resolve();
  let running = false;
  let failures = 0;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const tick: Sequencer['tick'] = (opts = {}) => {
    const run = chain.then(() => drainer.drain(opts.checkpoint === true));
    chain = run.catch(() => undefined);
    return run;
  };

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        if (await drainer.hasWork()) await tick();
        failures = 0;
      } catch (e) {
        failures++;
        const err = e as { code?: string; message?: string };
        options.logger?.error({ code: err.code, err: String(err.message ?? e).split('\n')[0], failures }, 'audit sequencer batch failed; retrying');
      }
      if (running) await sleep(Math.min(options.pollMs * 2 ** Math.min(failures, 6), MAX_BACKOFF_MS));
    }
  }

  return {
    tick,
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await chain;
    },
    nudge() {
      wake?.();
    },
  };
}
