/**
 * An in-memory LogSource: the reference the sequenced log's implementation
 * must behave like, and the fixture of the forwarder tests. Not durable.
 */
import { canonicalJson, leafHash, MemoryTree, signCheckpoint, type NoteSigner } from '../log/index.js';
import type { OcsfEvent } from '../events.js';
import type { LogCheckpoint, LogEntry, LogSource } from './types.js';

export class MemoryLogSource implements LogSource {
  readonly #entries: LogEntry[] = [];
  readonly #tree = new MemoryTree();
  #checkpoint: LogCheckpoint | undefined;

  /** Appends events (canonicalised and leaf-hashed as the sequencer does); returns their indexes. */
  append(events: readonly OcsfEvent[]): number[] {
    return events.map((event) => {
      const eventJson = canonicalJson(event);
      const hash = leafHash(Buffer.from(eventJson, 'utf8'));
      this.#tree.appendLeafHashes([hash]);
      const entry = { index: this.#entries.length, eventJson, leafHash: hash.toString('base64') };
      this.#entries.push(entry);
      return entry.index;
    });
  }

  /** Signs a C2SP checkpoint of the current tree and makes it the latest. */
  async sign(origin: string, signer: NoteSigner): Promise<LogCheckpoint> {
    const size = this.#tree.size;
    const note = signCheckpoint({ origin, size, root: await this.#tree.root(size), extensions: [] }, signer);
    this.#checkpoint = { size, note };
    return this.#checkpoint;
  }

  /** Sets the latest checkpoint as given (tests). */
  setCheckpoint(checkpoint: LogCheckpoint | undefined): void {
    this.#checkpoint = checkpoint;
  }

  get size(): number {
    return this.#entries.length;
  }

  async entriesAfter(index: number, limit: number): Promise<LogEntry[]> {
    return this.#entries.slice(Math.max(0, index + 1), Math.max(0, index + 1) + limit).map((e) => ({ ...e }));
  }

  async latestIndex(): Promise<number> {
    return this.#entries.length - 1;
  }

  async latestCheckpoint(): Promise<LogCheckpoint | undefined> {
    return this.#checkpoint;
  }
}
