/**
 * Proof verification against the published RFC 6962 proof vectors of
 * transparency-dev/merkle (testdata/inclusion and testdata/consistency, commit
 * 417fb0c314750d94e53942e9f92e79b6d35915db, Apache-2.0), read in place from
 * ../shared/vectors/rfc6962-proofs. Every happy path must verify and every
 * mutated case (wantErr) must fail. The happy paths over the reference tree
 * must also be exactly what our generator produces.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryTree } from './memory.js';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from './proof.js';

const ROOT = path.resolve(process.cwd(), '../shared/vectors/rfc6962-proofs');

interface InclusionCase {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyCase {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? jsonFiles(full) : name.endsWith('.json') ? [full] : [];
  });
}
const load = <T>(kind: string): [string, T][] =>
  jsonFiles(path.join(ROOT, kind))
    .sort()
    .map((f) => [path.relative(ROOT, f), JSON.parse(readFileSync(f, 'utf8')) as T]);
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const proofOf = (p: string[] | null): Buffer[] | null => (p === null ? null : p.map(b64));

const inclusion = load<InclusionCase>('inclusion');
const consistency = load<ConsistencyCase>('consistency');

// The reference tree the numbered vector folders were generated from (RFC 6962 test data).
const REFERENCE = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];

describe('transparency-dev/merkle RFC 6962 vectors', () => {
  it('are all present and cover both outcomes', () => {
    expect(inclusion.length + consistency.length).toBe(196);
    expect(inclusion.some(([, c]) => !c.wantErr) && inclusion.some(([, c]) => c.wantErr)).toBe(true);
    expect(consistency.some(([, c]) => !c.wantErr) && consistency.some(([, c]) => c.wantErr)).toBe(true);
  });

  it.each(inclusion)('inclusion %s', (_file, c) => {
    const ok = verifyInclusion(b64(c.leafHash), c.leafIdx, c.treeSize, proofOf(c.proof), b64(c.root));
    expect(ok).toBe(!c.wantErr);
  });

  it.each(consistency)('consistency %s', (_file, c) => {
    const ok = verifyConsistency(c.size1, c.size2, proofOf(c.proof), b64(c.root1), b64(c.root2));
    expect(ok).toBe(!c.wantErr);
  });

  it('happy paths over the reference tree are what our generator produces', async () => {
    const tree = new MemoryTree();
    tree.appendData(REFERENCE.map((h) => Buffer.from(h, 'hex')));
    for (const [file, c] of inclusion.filter(([f, v]) => !v.wantErr && /^inclusion\/\d\//.test(f))) {
      expect((await tree.root(c.treeSize)).toString('base64'), file).toBe(c.root);
      const proof = await inclusionProof(tree.store, c.leafIdx, c.treeSize);
      expect(proof.map((p) => p.toString('base64')), file).toEqual(c.proof ?? []);
    }
    for (const [file, c] of consistency.filter(([f, v]) => !v.wantErr && /^consistency\/\d\//.test(f))) {
      expect((await tree.root(c.size2)).toString('base64'), file).toBe(c.root2);
      const proof = await consistencyProof(tree.store, c.size1, c.size2);
      expect(proof.map((p) => p.toString('base64')), file).toEqual(c.proof ?? []);
    }
  });
});
