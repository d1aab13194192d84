/**
 * Pure in-memory versions of the node store and of a whole log tree: the
 * reference the persistent sequencer is tested against, and the fixture for
 * the verifier's tests. Not for production data (nothing is durable).
 */
import { auditError } from './errors.js';
import { leafHash } from './hash.js';
import { EMPTY_TREE_STATE, integrate, rootAt, type NodeId, type NodeReader, type TreeNode, type TreeState } from './merkle.js';
import { consistencyProof, inclusionProof } from './proof.js';

const key = (level: number, index: number): string => `${level}/${index}`;

/** A NodeReader over a Map, filled by `put` with what `integrate` returned. */
export class MemoryNodeStore implements NodeReader {
  readonly #nodes = new Map<string, Buffer>();

  /** Stores nodes; a node already present must not change (stored nodes are immutable). */
  put(nodes: readonly TreeNode[]): void {
    for (const node of nodes) {
      const k = key(node.level, node.index);
      const existing = this.#nodes.get(k);
      if (existing && !existing.equals(node.hash)) throw new Error(`node ${k} rewritten with a different hash`);
      this.#nodes.set(k, Buffer.from(node.hash));
    }
  }

  /** Number of stored nodes. */
  get count(): number {
    return this.#nodes.size;
  }

  async getNode(level: number, index: number): Promise<Buffer | undefined> {
    return this.#nodes.get(key(level, index));
  }

  async getNodes(ids: readonly NodeId[]): Promise<(Buffer | undefined)[]> {
    return ids.map((id) => this.#nodes.get(key(id.level, id.index)));
  }
}

/** An append-only Merkle tree held in memory: integrate, store nodes, serve roots and proofs. */
export class MemoryTree {
  readonly store = new MemoryNodeStore();
  #state: TreeState = EMPTY_TREE_STATE;

  get size(): number {
    return this.#state.size;
  }

  /** Appends entries' data (hashed as RFC 6962 leaves); returns the new size. */
  appendData(entries: readonly Uint8Array[]): number {
    return this.appendLeafHashes(entries.map(leafHash));
  }

  /** Appends 32-byte leaf hashes; returns the new size. */
  appendLeafHashes(hashes: readonly Uint8Array[]): number {
    const result = integrate(hashes, this.#state);
    this.store.put(result.newNodes);
    this.#state = result.state;
    return result.size;
  }

  /** Root at `size` (default: the current size). */
  async root(size = this.size): Promise<Buffer> {
    this.#assertWithin(size);
    return rootAt(this.store, size);
  }

  /** Inclusion proof of leaf `index` in the tree of `size` (default: current size). */
  async inclusionProof(index: number, size = this.size): Promise<Buffer[]> {
    this.#assertWithin(size);
    return inclusionProof(this.store, index, size);
  }

  /** Consistency proof from size1 to size2 (default: current size). */
  async consistencyProof(size1: number, size2 = this.size): Promise<Buffer[]> {
    this.#assertWithin(size2);
    return consistencyProof(this.store, size1, size2);
  }

  #assertWithin(size: number): void {
    if (size > this.size) throw auditError('PROOF_RANGE_INVALID', `size ${size} is beyond the tree (${this.size})`);
  }
}
