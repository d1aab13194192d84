/**
 * A background loop for the worker and the notifier: runs `round` (through
 * a chain, so a direct `run()` never overlaps it), then sleeps for the
 * milliseconds it returns; `wake()` cuts a sleep short. `round` must not throw.
 */
export class Loop {
  readonly #round: () => Promise<number>;
  #chain: Promise<unknown> = Promise.resolve();
  #running = false;
  #loop: Promise<void> | undefined;
  #sleep: { timer: NodeJS.Timeout; done: () => void } | undefined;

  constructor(round: () => Promise<number>) {
    this.#round = round;
  }

  /** One round, serialised with the loop; rejects as the round does. */
  run<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.#chain.then(fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        const pause = await this.run(this.#round);
        if (this.#running && pause > 0) await this.#pause(pause);
      }
    })();
  }

  wake(): void {
    const s = this.#sleep;
    if (!s) return;
    clearTimeout(s.timer);
    s.done();
  }

  /** Ends the loop after the current round; waits for it and any direct run. */
  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    await this.#chain;
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#sleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#sleep = { timer, done };
    });
  }
}
