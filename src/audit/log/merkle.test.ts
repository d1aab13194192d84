/**
 * Merkle tree hashing, incremental integration, node layout and generated
 * proofs, checked against the RFC 6962 reference tree and against a naive
 * recursive implementation of RFC 6962 §2.1 written here, separately from
 * merkle.ts / proof.ts (it shares no code with them).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBinary, nodeHashBinary, toBinary } from './hash.js';
import { MemoryNodeStore, MemoryTree } from './memory.js';
import {
  CompactRange,
  EMPTY_ROOT,
  frontierNodeIds,
  integrate,
  leafHash,
  loadTreeState,
  merkleRoot,
  nodeHash,
  rootAt,
} from './merkle.js';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from './proof.js';

// ---- naive RFC 6962 §2.1 reference (recursive definitions, straight from the RFC text) ----
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const largestPow2Below = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
/** MTH(D[n]) over entry data. */
function mth(d: readonly Uint8Array[]): Buffer {
  if (d.length === 0) return sha256();
  if (d.length === 1) return sha256(Buffer.from([0]), d[0]!);
  const k = largestPow2Below(d.length);
  return sha256(Buffer.from([1]), mth(d.slice(0, k)), mth(d.slice(k)));
}
/** PATH(m, D[n]). */
function path(m: number, d: readonly Uint8Array[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = largestPow2Below(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
/** SUBPROOF(m, D[n], b). */
function subproof(m: number, d: readonly Uint8Array[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = largestPow2Below(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

// The reference tree of the Certificate Transparency test suites and their roots at sizes 1..8
// (transparency-dev/merkle, testonly/constants.go; the vectors in ../shared/vectors/rfc6962-proofs
// carry the same roots for sizes 1, 2, 3, 5, 6, 7 and 8).
const REFERENCE_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  (h) => Buffer.from(h, 'hex'),
);
const REFERENCE_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const entriesArb = (max: number) => fc.array(fc.uint8Array({ maxLength: 24 }), { minLength: 1, maxLength: max });

describe('RFC 6962 hashing', () => {
  it('hashes the empty tree, leaves and nodes with the RFC prefixes', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot([])).toEqual(EMPTY_ROOT);
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(REFERENCE_ROOTS[0]);
    const [a, b] = [leafHash(Buffer.from('a')), leafHash(Buffer.from('b'))];
    expect(nodeHash(a, b)).toEqual(sha256(Buffer.from([1]), a, b));
    expect(nodeHash(Buffer.from('x'), Buffer.from('yz'))).toEqual(sha256(Buffer.from('\x01xyz', 'latin1')));
  });

  it('hashes nodes over binary strings (as the verifier does) byte for byte as over bytes, for every byte value in every position', () => {
    for (let v = 0; v < 256; v++) {
      for (const at of [0, 17, 31, 32, 45, 63]) {
        const both = Buffer.alloc(64, (v * 7 + 3) & 0xff);
        both[at] = v;
        const [left, right] = [both.subarray(0, 32), both.subarray(32)];
        expect(fromBinary(nodeHashBinary(toBinary(left), toBinary(right)))).toEqual(nodeHash(left, right));
      }
    }
  });

  it('reproduces the reference roots at sizes 1..8, directly, incrementally and from stored nodes', async () => {
    const tree = new MemoryTree();
    const range = new CompactRange();
    for (let n = 1; n <= 8; n++) {
      const leaves = REFERENCE_LEAVES.slice(0, n);
      expect(mth(leaves).toString('hex')).toBe(REFERENCE_ROOTS[n - 1]);
      expect(merkleRoot(leaves.map(leafHash)).toString('hex')).toBe(REFERENCE_ROOTS[n - 1]);
      range.append(leafHash(REFERENCE_LEAVES[n - 1]!));
      expect(range.root().toString('hex')).toBe(REFERENCE_ROOTS[n - 1]);
      tree.appendData([REFERENCE_LEAVES[n - 1]!]);
    }
    for (let n = 1; n <= 8; n++) expect((await tree.root(n)).toString('hex')).toBe(REFERENCE_ROOTS[n - 1]);
    expect(await tree.root(0)).toEqual(EMPTY_ROOT);
  });

  it('matches the naive proofs on the reference tree', async () => {
    const tree = new MemoryTree();
    tree.appendData(REFERENCE_LEAVES);
    for (let n = 1; n <= 8; n++) {
      const d = REFERENCE_LEAVES.slice(0, n);
      for (let m = 0; m < n; m++) expect(await tree.inclusionProof(m, n)).toEqual(path(m, d));
      for (let m = 1; m <= n; m++) expect(await tree.consistencyProof(m, n)).toEqual(subproof(m, d, true));
    }
  });
});

describe('incremental integration', () => {
  it('equals the naive root at every size, whatever the batch boundaries', () => {
    fc.assert(
      fc.property(entriesArb(70), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 20 }), (entries, cuts) => {
        const hashes = entries.map(leafHash);
        let state = integrate([]).state;
        let at = 0;
        for (const cut of [...cuts, entries.length]) {
          const batch = hashes.slice(at, at + cut);
          const result = integrate(batch, state);
          at += batch.length;
          expect(result.size).toBe(at);
          expect(result.root).toEqual(mth(entries.slice(0, at)));
          state = result.state;
          if (at === entries.length) break;
        }
      }),
    );
  });

  it('returns exactly the perfect subtrees completed by each append', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 }), (before, added) => {
        const hashes = Array.from({ length: before + added }, (_, i) => leafHash(Buffer.from(String(i))));
        const state = integrate(hashes.slice(0, before)).state;
        const { newNodes } = integrate(hashes.slice(before), state);
        const expected: string[] = [];
        for (let level = 0; 2 ** level <= before + added; level++) {
          for (let index = 0; (index + 1) * 2 ** level <= before + added; index++) {
            if ((index + 1) * 2 ** level > before) expected.push(`${level}/${index}`);
          }
        }
        expect(newNodes.map((n) => `${n.level}/${n.index}`).sort()).toEqual(expected.sort());
        for (const n of newNodes) {
          const leaves = Array.from({ length: 2 ** n.level }, (_, i) => Buffer.from(String(n.index * 2 ** n.level + i)));
          expect(n.hash).toEqual(mth(leaves));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('resumes from a state reloaded out of the node store', async () => {
    const tree = new MemoryTree();
    const data = Array.from({ length: 45 }, (_, i) => Buffer.from(`entry ${i}`));
    tree.appendData(data.slice(0, 29));
    const state = await loadTreeState(tree.store, 29);
    expect(state.frontier.length).toBe(frontierNodeIds(29).length);
    const result = integrate(data.slice(29).map(leafHash), state);
    expect(result.root).toEqual(mth(data));
  });

  it('refuses inconsistent states, bad leaf hashes and absent nodes with coded errors', async () => {
    expect(() => integrate([], { size: 3, frontier: [EMPTY_ROOT] })).toThrow(expect.objectContaining({ code: 'AUDIT_TREE_STATE_INVALID' }));
    expect(() => integrate([Buffer.alloc(31)])).toThrow(expect.objectContaining({ code: 'AUDIT_LEAF_HASH_INVALID' }));
    await expect(rootAt(new MemoryNodeStore(), 5)).rejects.toMatchObject({ code: 'AUDIT_TREE_NODE_MISSING' });
  });
});

/** Sibling sides along PATH(m, D[n]), leaf end first ('L': sibling on the left). */
function pathSides(m: number, n: number): string {
  if (n <= 1) return '';
  const k = largestPow2Below(n);
  return m < k ? `${pathSides(m, k)}R` : `${pathSides(m - k, n - k)}L`;
}
/** The shape of SUBPROOF(m, D[n], b): 'S' for the subtree root itself, then sibling sides. */
function subproofShape(m: number, n: number, b: boolean): string {
  if (m === n) return b ? '' : 'S';
  const k = largestPow2Below(n);
  return m <= k ? `${subproofShape(m, k, b)}R` : `${subproofShape(m - k, n - k, false)}L`;
}
const flipBit = (b: Uint8Array, seed: number): Buffer => {
  const copy = Buffer.from(b);
  copy[seed % copy.length]! ^= 1 << seed % 8;
  return copy;
};

describe('generated proofs (fast-check)', () => {
  // Entries are made distinct (index prefix) so that a proof can only fit one position.
  const treeArb = entriesArb(40).chain((raw) => {
    const entries = raw.map((e, i) => Buffer.concat([Buffer.from(`${i}:`), e]));
    return fc.record({
      entries: fc.constant(entries),
      size: fc.integer({ min: 1, max: entries.length }),
      other: fc.integer({ min: 1, max: entries.length }),
    });
  });

  it('inclusion proofs equal PATH and verify; a changed element, index or root fails', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, fc.nat(), fc.nat(), async ({ entries, size, other }, pick, seed) => {
        const tree = new MemoryTree();
        tree.appendData(entries);
        const index = pick % size;
        const proof = await inclusionProof(tree.store, index, size);
        const root = mth(entries.slice(0, size));
        const leaf = leafHash(entries[index]!);
        expect(proof).toEqual(path(index, entries.slice(0, size)));
        expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
        if (proof.length > 0) {
          const bad = [...proof];
          const at = seed % bad.length;
          bad[at] = flipBit(bad[at]!, seed);
          expect(verifyInclusion(leaf, index, size, bad, root)).toBe(false);
          expect(verifyInclusion(leaf, index, size, proof.slice(1), root)).toBe(false);
          expect(verifyInclusion(leaf, index, size, proof.slice(0, -1), root)).toBe(false);
        }
        for (let j = 0; j < size; j++) if (j !== index) expect(verifyInclusion(leaf, j, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, [...proof, root], root)).toBe(false);
        expect(verifyInclusion(leafHash(Buffer.concat([entries[index]!, Buffer.from('x')])), index, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, proof, flipBit(root, seed))).toBe(false);
        // The size is bound by the signed checkpoint, not by the proof: another size verifies
        // exactly when its audit path has the same shape (e.g. leaf 0 in trees of 5 and 6).
        if (other !== size && index < other) {
          const sameShape = pathSides(index, other) === pathSides(index, size);
          expect(verifyInclusion(leaf, index, other, proof, root)).toBe(sameShape);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('consistency proofs equal PROOF and verify; a changed element or root fails', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, fc.nat(), async ({ entries, size, other }, seed) => {
        const tree = new MemoryTree();
        tree.appendData(entries);
        const [size1, size2] = size <= other ? [size, other] : [other, size];
        const proof = await consistencyProof(tree.store, size1, size2);
        const root1 = mth(entries.slice(0, size1));
        const root2 = mth(entries.slice(0, size2));
        expect(proof).toEqual(subproof(size1, entries.slice(0, size2), true));
        expect(verifyConsistency(size1, size2, proof, root1, root2)).toBe(true);
        expect(verifyConsistency(size1, size2, proof, flipBit(root1, seed), root2)).toBe(false);
        expect(verifyConsistency(size1, size2, proof, root1, flipBit(root2, seed))).toBe(false);
        if (proof.length > 0) {
          const bad = [...proof];
          const at = seed % bad.length;
          bad[at] = flipBit(bad[at]!, seed);
          expect(verifyConsistency(size1, size2, bad, root1, root2)).toBe(false);
          expect(verifyConsistency(size1, size2, proof.slice(1), root1, root2)).toBe(false);
          expect(verifyConsistency(size1, size2, proof.slice(0, -1), root1, root2)).toBe(false);
          expect(verifyConsistency(size1, size2, [...proof, root2], root1, root2)).toBe(false);
          expect(verifyConsistency(size2, size1, proof, root2, root1)).toBe(false);
        }
        // Changing a size verifies only when the proof has the same shape for the new sizes.
        for (const [s1, s2] of [
          [size1 + 1, size2],
          [size1 - 1, size2],
          [size1, size2 + 1],
          [size1, size2 - 1],
        ] as const) {
          if (s1 < 1 || s1 > s2 || (s1 === size1 && s2 === size2)) continue;
          const sameShape = subproofShape(s1, s2, true) === subproofShape(size1, size2, true) && (s1 === s2) === (size1 === size2);
          expect(verifyConsistency(s1, s2, proof, root1, root2)).toBe(sameShape && proof.length > 0);
        }
      }),
      { numRuns: 200 },
    );
  });
});
