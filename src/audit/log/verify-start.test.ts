/**
 * Verifying a log in parts (what verify/parallel.ts does on worker threads):
 * a part started from the compact range the stored nodes give (loadTreeState
 * over the reference tree code, merkle.ts) must reach the roots of the RFC
 * 6962 vectors, chained parts must give exactly the whole-log result, and a
 * part started from a wrong compact range must never end in the state the
 * true tree has there (which is what the parallel verifier's join check
 * relies on).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from './checkpoint.js';
import { leafHash, loadTreeState, type TreeState } from './merkle.js';
import { MemoryTree } from './memory.js';
import { noteVerifier, type NoteSigner } from './note.js';
import { verifyLog, verifyLogState, type LogEntryRecord, type VerifyResult } from './verify.js';

const ORIGIN = 'custos.test/audit';
const keys = generateKeyPairSync('ed25519');
const signer: NoteSigner = { name: ORIGIN, privateKey: keys.privateKey };
const verifier = noteVerifier(ORIGIN, keys.publicKey);

// The tree the numbered RFC 6962 vector folders (../shared/vectors/rfc6962-proofs) were generated from.
const REFERENCE = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));

/** Roots by tree size, from the happy-path consistency vectors over the reference tree. */
function vectorRoots(): Map<number, string> {
  const dir = path.resolve(process.cwd(), '../shared/vectors/rfc6962-proofs/consistency');
  const roots = new Map<number, string>();
  for (const folder of readdirSync(dir).filter((d) => /^\d$/.test(d))) {
    const c = JSON.parse(readFileSync(path.join(dir, folder, 'happy-path.json'), 'utf8')) as { size1: number; size2: number; root1: string; root2: string };
    roots.set(c.size1, c.root1).set(c.size2, c.root2);
  }
  return roots;
}

const records = (data: readonly Buffer[]): LogEntryRecord[] => data.map((event, index) => ({ index, event, leafHash: leafHash(event) }));

/** A tree over `data`, and checkpoints of its roots at `sizes`. */
async function logOf(data: readonly Buffer[], sizes: readonly number[]): Promise<{ tree: MemoryTree; checkpoints: string[] }> {
  const tree = new MemoryTree();
  tree.appendData(data);
  const checkpoints: string[] = [];
  for (const size of [...new Set(sizes)].sort((a, b) => a - b)) {
    checkpoints.push(signCheckpoint({ origin: ORIGIN, size, root: await tree.root(size), extensions: [] }, signer));
  }
  return { tree, checkpoints };
}

const sizeOf = (note: string) => Number(note.split('\n')[1]);

/** Verifies [0, n) in the parts `splits` cut, each from the stored compact range at its start; the part results and end states. */
async function inParts(tree: MemoryTree, entries: readonly LogEntryRecord[], checkpoints: readonly string[], splits: readonly number[]) {
  const bounds = [0, ...splits, entries.length];
  const parts: Array<{ result: VerifyResult; state: TreeState; start: TreeState }> = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const [from, to] = [bounds[k] as number, bounds[k + 1] as number];
    const start = await loadTreeState(tree.store, from);
    const mine = checkpoints.filter((c) => (k === 0 ? sizeOf(c) >= 0 : sizeOf(c) > from) && (k + 2 === bounds.length || sizeOf(c) <= to));
    parts.push({ ...(await verifyLogState({ entries: entries.slice(from, to), checkpoints: mine, verifier, start })), start });
  }
  return parts;
}

const sameState = (a: TreeState, b: TreeState) => a.size === b.size && a.frontier.length === b.frontier.length && a.frontier.every((h, i) => h.equals(b.frontier[i] as Buffer));

describe('verifying in parts from a stored compact range', () => {
  it('reaches the RFC 6962 vector roots from every split of the reference tree', async () => {
    const roots = vectorRoots();
    expect(roots.size).toBeGreaterThanOrEqual(6);
    const entries = records(REFERENCE);
    for (const [n, root] of roots) {
      if (n === 0 || n > REFERENCE.length) continue;
      const { tree, checkpoints } = await logOf(REFERENCE.slice(0, n), [...roots.keys()].filter((s) => s <= n));
      for (let split = 0; split <= n; split++) {
        const parts = await inParts(tree, entries.slice(0, n), checkpoints, split > 0 && split < n ? [split] : []);
        const last = parts.at(-1)?.result;
        expect(last, `size ${n} split ${split}`).toMatchObject({ ok: true, size: n });
        expect((last as { root: Buffer }).root.toString('base64')).toBe(root);
        // Each part ends exactly where the reference tree's stored nodes put the next one's start.
        for (let k = 0; k + 1 < parts.length; k++) expect(sameState(parts[k]!.state, parts[k + 1]!.start)).toBe(true);
      }
    }
  });

  it('chained parts give the whole-log result; a wrong start never ends in the true state (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 2, maxLength: 70 }),
        fc.uniqueArray(fc.nat(), { maxLength: 4 }),
        fc.uniqueArray(fc.nat(), { maxLength: 6 }),
        fc.nat(),
        async (raw, cuts, cps, flip) => {
          const data = raw.map((b) => Buffer.from(b));
          const n = data.length;
          const splits = [...new Set(cuts.map((c) => 1 + (c % (n - 1))))].sort((a, b) => a - b);
          const { tree, checkpoints } = await logOf(data, [...cps.map((c) => c % (n + 1)), n]);
          const entries = records(data);
          const whole = await verifyLog({ entries, checkpoints, verifier });
          const parts = await inParts(tree, entries, checkpoints, splits);
          expect(parts.every((p) => p.result.ok)).toBe(true);
          const last = parts.at(-1)!.result as { root: Buffer; size: number };
          expect(whole).toMatchObject({ ok: true, size: last.size, root: last.root });
          for (let k = 0; k + 1 < parts.length; k++) expect(sameState(parts[k]!.state, parts[k + 1]!.start)).toBe(true);
          // A part that starts from a damaged compact range: a fault, or an end state unlike the true one.
          const k = splits.length === 0 ? undefined : flip % splits.length;
          if (k === undefined) return;
          const [from, to] = [splits[k] as number, (splits[k + 1] ?? n) as number];
          const start = await loadTreeState(tree.store, from);
          const bad = start.frontier.map((h) => Buffer.from(h));
          bad[flip % bad.length]![flip % 32]! ^= 1;
          const damaged = await verifyLogState({ entries: entries.slice(from, to), checkpoints: [], verifier, start: { size: from, frontier: bad } });
          expect(!damaged.result.ok || !sameState(damaged.state, await loadTreeState(tree.store, to))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses an inconsistent start state (cannot run)', async () => {
    await expect(verifyLog({ entries: [], checkpoints: [], verifier, start: { size: 3, frontier: [] } })).rejects.toMatchObject({ code: 'AUDIT_TREE_STATE_INVALID' });
  });
});
