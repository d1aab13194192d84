/**
 * RFC 6962 / RFC 9162 §2.1 Merkle tree: roots, the incremental compact range,
 * and the node layout the sequencer persists.
 *
 * Node layout: node (level, index) is the root of the perfect subtree over
 * leaves [index·2^level, (index+1)·2^level). Level 0 nodes are the leaf
 * hashes. Only perfect (complete) subtrees are ever stored, so a stored node
 * never changes once written; every root and proof for any tree size is a
 * fold of O(log n) stored nodes. Sizes and indexes are JS numbers, exact up
 * to Number.MAX_SAFE_INTEGER (no 32-bit bit operations anywhere).
 */
import { auditError } from './errors.js';
import { EMPTY_ROOT_BINARY, fromBinary, isHash, nodeHash, nodeHashBinary, toBinary } from './hash.js';

export { EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash } from './hash.js';

/** Address of a stored node: the perfect subtree over leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A node to persist, with its 32-byte hash. */
export interface TreeNode extends NodeId {
  readonly hash: Buffer;
}

/**
 * Read access to persisted nodes. `getNodes`, when present, is used to fetch
 * every node of a proof in one round trip; it must answer in the order asked.
 */
export interface NodeReader {
  getNode(level: number, index: number): Promise<Buffer | undefined>;
  getNodes?(ids: readonly NodeId[]): Promise<readonly (Buffer | undefined)[]>;
}

/**
 * The compact range [0, size): the roots of the perfect subtrees of the
 * binary decomposition of `size`, largest (leftmost) first. Enough to append
 * leaves and compute the root without reading anything else.
 */
export interface TreeState {
  readonly size: number;
  readonly frontier: readonly Buffer[];
}

/** What `integrate` produced: nodes to persist, and the tree after the append. */
export interface IntegrateResult {
  readonly newNodes: TreeNode[];
  readonly root: Buffer;
  readonly size: number;
  readonly state: TreeState;
}

/** The state of the empty tree. */
export const EMPTY_TREE_STATE: TreeState = Object.freeze({ size: 0, frontier: Object.freeze([]) as readonly Buffer[] });

/** True for a tree size or index this module accepts: a safe integer >= 0. */
export function isTreeSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Number of bits needed to write n (0 for 0). Exact for safe integers. */
export function bitLength(n: number): number {
  return n === 0 ? 0 : n.toString(2).length;
}

function popCount(n: number): number {
  let count = 0;
  for (const c of n.toString(2)) if (c === '1') count++;
  return count;
}

/**
 * The stored nodes whose fold is the RFC 6962 root of leaves [start, end),
 * largest first. `start` must be a multiple of the largest power of two
 * <= end - start (true for 0 and for the right edges proofs need), so that
 * every piece is a perfect, stored subtree; throws otherwise.
 */
export function rangeNodeIds(start: number, end: number): NodeId[] {
  const len = end - start;
  if (!isTreeSize(start) || !isTreeSize(end) || len < 0 || (len > 0 && start % 2 ** (bitLength(len) - 1) !== 0)) {
    throw auditError('PROOF_RANGE_INVALID', `no aligned decomposition of leaves [${start}, ${end})`);
  }
  const ids: NodeId[] = [];
  let pos = start;
  for (let level = bitLength(len) - 1; level >= 0; level--) {
    const width = 2 ** level;
    if (end - pos >= width) {
      ids.push({ level, index: pos / width });
      pos += width;
    }
  }
  return ids;
}

/** The node ids of the compact range [0, size): what a sequencer reloads to resume. */
export function frontierNodeIds(size: number): NodeId[] {
  return rangeNodeIds(0, size);
}

/** Folds subtree roots (largest first) into one root: h0 ⊕ (h1 ⊕ (… ⊕ hn)). Empty → EMPTY_ROOT. */
export function foldRoots(hashes: readonly Uint8Array[]): Buffer {
  const last = hashes[hashes.length - 1];
  if (last === undefined) return fromBinary(EMPTY_ROOT_BINARY);
  let root: Buffer = Buffer.from(last);
  for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(hashes[i] as Uint8Array, root);
  return root;
}

/**
 * Internal fast compact range over latin1 binary-string hashes (see hash.ts).
 * `append` integrates one leaf in amortised O(1), worst case O(log n) hashes.
 */
export class Frontier {
  #size: number;
  readonly #hashes: string[];

  constructor(size = 0, hashes: string[] = []) {
    this.#size = size;
    this.#hashes = hashes;
  }

  get size(): number {
    return this.#size;
  }

  /** Appends a leaf hash (binary string); reports each completed node to `onNode`. */
  append(leaf: string, onNode?: (level: number, index: number, hash: string) => void): void {
    let hash = leaf;
    let index = this.#size;
    let level = 0;
    onNode?.(0, index, hash);
    while (index % 2 === 1) {
      hash = nodeHashBinary(this.#hashes.pop() as string, hash);
      index = (index - 1) / 2;
      level++;
      onNode?.(level, index, hash);
    }
    this.#hashes.push(hash);
    this.#size++;
  }

  /**
   * Appends the root of a perfect subtree of 2^level leaves computed
   * elsewhere; the size must be a multiple of 2^level (the subtree is then a
   * node of the tree, and the result is the same as appending its leaves).
   */
  appendSubtree(level: number, root: string): void {
    const width = 2 ** level;
    if (this.#size % width !== 0) throw auditError('TREE_STATE_INVALID', `a subtree of ${width} leaves cannot start at ${this.#size}`);
    let hash = root;
    let index = this.#size / width;
    while (index % 2 === 1) {
      hash = nodeHashBinary(this.#hashes.pop() as string, hash);
      index = (index - 1) / 2;
    }
    this.#hashes.push(hash);
    this.#size += width;
  }

  /** Root of the tree of the current size, as a binary string. */
  root(): string {
    const hashes = this.#hashes;
    let i = hashes.length - 1;
    if (i < 0) return EMPTY_ROOT_BINARY;
    let root = hashes[i] as string;
    for (i--; i >= 0; i--) root = nodeHashBinary(hashes[i] as string, root);
    return root;
  }

  /** The compact range as Buffers, largest subtree first. */
  frontier(): Buffer[] {
    return this.#hashes.map(fromBinary);
  }
}

function assertState(state: TreeState): void {
  if (!isTreeSize(state.size) || !Array.isArray(state.frontier) || state.frontier.length !== popCount(state.size)) {
    throw auditError('TREE_STATE_INVALID', 'tree state: size and frontier length disagree');
  }
  if (!state.frontier.every(isHash)) throw auditError('TREE_STATE_INVALID', 'tree state: frontier hash is not 32 bytes');
}

/**
 * Incremental Merkle tree over leaf hashes: append leaves one at a time, read
 * the root at the current size. Holds only O(log n) hashes.
 */
export class CompactRange {
  readonly #frontier: Frontier;

  /** Starts from `state` (default: the empty tree); throws AUDIT_TREE_STATE_INVALID if it is inconsistent. */
  constructor(state: TreeState = EMPTY_TREE_STATE) {
    assertState(state);
    this.#frontier = new Frontier(state.size, state.frontier.map(toBinary));
  }

  get size(): number {
    return this.#frontier.size;
  }

  /** Appends one 32-byte leaf hash; `onNode` receives every node it completes (level 0 first). */
  append(leafHash: Uint8Array, onNode?: (node: TreeNode) => void): void {
    if (!isHash(leafHash)) throw auditError('LEAF_HASH_INVALID', 'leaf hash must be 32 bytes');
    const sink = onNode && ((level: number, index: number, hash: string) => onNode({ level, index, hash: fromBinary(hash) }));
    this.#frontier.append(toBinary(leafHash), sink);
  }

  /** Root at the current size (EMPTY_ROOT for the empty tree). */
  root(): Buffer {
    return fromBinary(this.#frontier.root());
  }

  /** A snapshot of the state, for `integrate` or persistence. */
  state(): TreeState {
    return { size: this.#frontier.size, frontier: this.#frontier.frontier() };
  }
}

/**
 * Appends `leafHashes` to the tree described by `state` (pure: `state` is not
 * modified). Returns every node completed by the append — exactly the nodes
 * (level, index) with (index+1)·2^level in (state.size, size], level 0
 * included — plus the new root, size and state. Persisting `newNodes` after
 * every call keeps the store able to serve every root and proof.
 */
export function integrate(leafHashes: readonly Uint8Array[], state: TreeState = EMPTY_TREE_STATE): IntegrateResult {
  const range = new CompactRange(state);
  const newNodes: TreeNode[] = [];
  const collect = (node: TreeNode): void => {
    newNodes.push(node);
  };
  for (const leaf of leafHashes) range.append(leaf, collect);
  return { newNodes, root: range.root(), size: range.size, state: range.state() };
}

/** RFC 6962 Merkle Tree Hash of a list of leaf hashes (MTH over the leaves' data). */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Buffer {
  const range = new CompactRange();
  for (const leaf of leafHashes) range.append(leaf);
  return range.root();
}

/**
 * Reads `ids` from `reader` (one batch if it has getNodes), in order. Throws
 * AUDIT_TREE_NODE_MISSING naming the first node that is absent or not 32 bytes.
 */
export async function readNodes(reader: NodeReader, ids: readonly NodeId[]): Promise<Buffer[]> {
  if (ids.length === 0) return [];
  const found = reader.getNodes
    ? await reader.getNodes(ids)
    : await Promise.all(ids.map((id) => reader.getNode(id.level, id.index)));
  return ids.map((id, i) => {
    const hash = found[i];
    if (!isHash(hash)) throw auditError('TREE_NODE_MISSING', `node (level ${id.level}, index ${id.index}) is not in the store`);
    return Buffer.from(hash);
  });
}

/** Loads the compact range of the tree of `size` from stored nodes, to resume integrating. */
export async function loadTreeState(reader: NodeReader, size: number): Promise<TreeState> {
  return { size, frontier: await readNodes(reader, frontierNodeIds(size)) };
}

/** Root of the tree of `size` leaves, from O(log size) stored nodes. */
export async function rootAt(reader: NodeReader, size: number): Promise<Buffer> {
  return foldRoots(await readNodes(reader, frontierNodeIds(size)));
}
