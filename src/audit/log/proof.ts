/**
 * Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4), generated
 * from stored perfect-subtree nodes (see merkle.ts for the layout) and
 * verified with the RFC's iterative algorithms.
 *
 * Generation is split in two: a pure *plan* (which stored nodes, and how they
 * fold into each proof element) and a fetch. A store can serve a whole proof
 * with one query for the plan's node ids.
 */
import { auditError } from './errors.js';
import { isHash, nodeHash } from './hash.js';
import { bitLength, foldRoots, isTreeSize, rangeNodeIds, readNodes, type NodeId, type NodeReader } from './merkle.js';

/**
 * A proof plan: one entry per proof element, leaf end first. Each entry lists
 * the stored nodes whose fold (largest first) is that element; most entries
 * are a single node, the one for a ragged right edge is several.
 */
export type ProofPlan = readonly (readonly NodeId[])[];

/** The audit path of node (level, index) up to the root of the tree of `size` leaves. */
function pathPlan(level: number, index: number, size: number): NodeId[][] {
  const plan: NodeId[][] = [];
  let ancestor = index;
  for (let l = level; Math.floor((size - 1) / 2 ** l) > 0; l++) {
    const sibling = ancestor % 2 === 0 ? ancestor + 1 : ancestor - 1;
    if (sibling < ancestor) {
      plan.push([{ level: l, index: sibling }]);
    } else {
      const start = sibling * 2 ** l;
      // A right sibling past the end does not exist: RFC 6962 promotes the node instead.
      if (start < size) plan.push(rangeNodeIds(start, Math.min(start + 2 ** l, size)));
    }
    ancestor = Math.floor(ancestor / 2);
  }
  return plan;
}

/**
 * Plan of the inclusion proof of leaf `index` in the tree of `size` leaves
 * (RFC 9162 §2.1.3.1 PATH). Throws AUDIT_PROOF_RANGE_INVALID unless 0 <= index < size.
 */
export function inclusionPlan(index: number, size: number): ProofPlan {
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) {
    throw auditError('PROOF_RANGE_INVALID', `no inclusion proof for index ${index} in a tree of size ${size}`);
  }
  return pathPlan(0, index, size);
}

/**
 * Plan of the consistency proof from size1 to size2 (RFC 9162 §2.1.4.1
 * PROOF). Empty when size1 = size2. Throws AUDIT_PROOF_RANGE_INVALID unless
 * 0 < size1 <= size2: a proof from the empty tree proves nothing and the
 * verifier (like transparency-dev/merkle's) rejects it.
 */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  if (!isTreeSize(size1) || !isTreeSize(size2) || size1 === 0 || size1 > size2) {
    throw auditError('PROOF_RANGE_INVALID', `no consistency proof from size ${size1} to size ${size2}`);
  }
  if (size1 === size2) return [];
  // The largest perfect subtree ending at size1: the proof is its audit path in the tree of size2,
  // preceded by the node itself unless size1 is a power of two (then the verifier already has it: root1).
  let level = 0;
  while ((size1 / 2 ** level) % 2 === 0) level++;
  const index = size1 / 2 ** level - 1;
  const path = pathPlan(level, index, size2);
  return index === 0 ? path : [[{ level, index }], ...path];
}

/** Fetches every node of `plan` (one batch) and folds each entry into a proof element. */
export async function resolvePlan(reader: NodeReader, plan: ProofPlan): Promise<Buffer[]> {
  const nodes = await readNodes(reader, plan.flat());
  let at = 0;
  return plan.map((ids) => {
    const part = nodes.slice(at, at + ids.length);
    at += ids.length;
    return foldRoots(part);
  });
}

/** Inclusion proof of leaf `index` in the tree of `size`, from stored nodes. */
export async function inclusionProof(reader: NodeReader, index: number, size: number): Promise<Buffer[]> {
  return resolvePlan(reader, inclusionPlan(index, size));
}

/** Consistency proof from size1 to size2 (0 < size1 <= size2), from stored nodes. */
export async function consistencyProof(reader: NodeReader, size1: number, size2: number): Promise<Buffer[]> {
  return resolvePlan(reader, consistencyPlan(size1, size2));
}

function allHashes(proof: readonly unknown[]): proof is readonly Uint8Array[] {
  return proof.every(isHash);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * RFC 9162 §2.1.3.2: true iff `proof` proves that `leafHash` is leaf `index`
 * of the tree of `size` whose root is `root`. Never throws: any malformed
 * input (wrong hash length, index >= size, sizes that are not safe integers) is false.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[] | null,
  root: Uint8Array,
): boolean {
  const path = proof ?? [];
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) return false;
  if (!isHash(leafHash) || !isHash(root) || !Array.isArray(path) || !allHashes(path)) return false;
  if (path.length > bitLength(size)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameBytes(r, root);
}

/**
 * RFC 9162 §2.1.4.2: true iff `proof` proves that the tree of size1 with
 * root1 is a prefix of the tree of size2 with root2. size1 = size2 needs an
 * empty proof and equal roots; size1 = 0 is always false (nothing to prove,
 * as in transparency-dev/merkle's published vectors). Never throws.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[] | null,
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  const given = proof ?? [];
  if (!isTreeSize(size1) || !isTreeSize(size2) || size1 === 0 || size1 > size2 || !Array.isArray(given)) return false;
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) return false;
  if (size1 === size2) return given.length === 0 && sameBytes(root1, root2);
  if (given.length === 0 || !allHashes(given) || !isHash(root1) || !isHash(root2)) return false;
  if (given.length > 2 * bitLength(size2)) return false;
  // If size1 is a power of two, root1 is the first subtree root of the path.
  const path = size1 === 2 ** (bitLength(size1) - 1) ? [root1, ...given] : [...given];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameBytes(fr, root1) && sameBytes(sr, root2);
}

