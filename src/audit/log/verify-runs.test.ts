/**
 * Packed entry runs (what `custos audit verify` reads from storage) must be
 * judged exactly as the same entries given one by one: same result, same
 * first bad index, same reason, whatever the run boundaries and checkpoints.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJsonBytes } from './canonical.js';
import { signCheckpoint } from './checkpoint.js';
import { CompactRange, leafHash } from './merkle.js';
import { noteVerifier, type NoteSigner } from './note.js';
import { verifyLog, type LogEntryRecord, type LogEntryRun } from './verify.js';

const ORIGIN = 'custos.test/audit';
const keys = generateKeyPairSync('ed25519');
const signer: NoteSigner = { name: ORIGIN, privateKey: keys.privateKey };
const verifier = noteVerifier(ORIGIN, keys.publicKey);

interface Entry {
  index: number;
  event: Buffer;
  leafHash: Buffer;
}

const event = (i: number): Buffer => canonicalJsonBytes({ class_uid: 6003, custos: { action: 'record.update', note: 'é✓'.repeat(i % 4) }, metadata: { uid: `e-${i}` } });

function buildLog(n: number, every: number): { entries: Entry[]; checkpoints: string[] } {
  const entries = Array.from({ length: n }, (_, i) => ({ index: i, event: event(i), leafHash: leafHash(event(i)) }));
  const range = new CompactRange();
  const checkpoints: string[] = [];
  entries.forEach((e, i) => {
    range.append(e.leafHash);
    if ((i + 1) % every === 0 || i + 1 === n) checkpoints.push(signCheckpoint({ origin: ORIGIN, size: i + 1, root: range.root(), extensions: [] }, signer));
  });
  return { entries, checkpoints };
}

/** Packs entries into runs of `size`, the layout LogEntryRun documents (spare byte before each event). */
function toRuns(entries: readonly Entry[], size: number): LogEntryRun[] {
  const runs: LogEntryRun[] = [];
  for (let i = 0; i < entries.length; i += size) {
    const page = entries.slice(i, i + size);
    const parts: Buffer[] = [];
    const ends: number[] = [];
    let end = 0;
    for (const e of page) {
      parts.push(Buffer.from([0x20]), e.event);
      end += 1 + e.event.length;
      ends.push(end);
    }
    runs.push({ indexes: page.map((e) => e.index), data: Buffer.concat(parts), ends, leafHashes: Buffer.concat(page.map((e) => e.leafHash)) });
  }
  return runs;
}

const copy = (entries: readonly Entry[]): Entry[] => entries.map((e) => ({ ...e, event: Buffer.from(e.event), leafHash: Buffer.from(e.leafHash) }));

describe('verifyLog over packed runs', () => {
  it('verifies the untouched log whatever the run size, and an empty run', async () => {
    const log = buildLog(50, 7);
    const byRecord = await verifyLog({ entries: log.entries as LogEntryRecord[], checkpoints: log.checkpoints, verifier });
    for (const size of [1, 3, 7, 16, 50, 64]) {
      const empty: LogEntryRun = { indexes: [], data: Buffer.alloc(0), ends: [], leafHashes: Buffer.alloc(0) };
      const runs = [empty, ...toRuns(log.entries, size)];
      expect(await verifyLog({ entries: runs, checkpoints: log.checkpoints, verifier })).toEqual(byRecord);
    }
    expect(byRecord).toMatchObject({ ok: true, size: 50, checkpointSize: 50 });
    const progress: number[] = [];
    const lastOnly = await verifyLog({
      entries: toRuns(log.entries, 13),
      checkpoints: [log.checkpoints.at(-1)!],
      verifier,
      onProgress: (n) => progress.push(n),
      progressInterval: 8,
    });
    expect(lastOnly).toEqual({ ...byRecord, checkpointCount: 1 });
    expect(progress).toEqual([8, 16, 24, 32, 40, 48, 50]);
  });

  it('gives the same result and progress as records for any single change, deletion, duplicate or swap, whatever the run size (fast-check)', async () => {
    const logs = [buildLog(40, 6), buildLog(40, 16), buildLog(40, 40)];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 39 }),
        fc.constantFrom('flip', 'hash', 'delete', 'duplicate', 'swap', 'renumber'),
        fc.nat(),
        fc.integer({ min: 1, max: 45 }),
        fc.integer({ min: 0, max: 2 }),
        async (i, kind, seed, size, which) => {
          const log = logs[which]!;
          const entries = copy(log.entries);
          const e = entries[i]!;
          if (kind === 'flip') e.event[seed % e.event.length]! ^= 1 << seed % 8;
          if (kind === 'hash') e.leafHash[seed % 32]! ^= 1 << seed % 8;
          if (kind === 'delete') entries.splice(i, 1);
          if (kind === 'duplicate') entries.splice(i, 0, { ...e });
          if (kind === 'swap' && i < 39) [entries[i], entries[i + 1]] = [entries[i + 1]!, e];
          if (kind === 'renumber') entries.splice(i, 1).forEach(() => entries.forEach((x, k) => (x.index = k)));
          const progress: [number[], number[]] = [[], []];
          const interval = 1 + (seed % 5);
          const byRecord = await verifyLog({ entries: copy(entries), checkpoints: log.checkpoints, verifier, progressInterval: interval, onProgress: (p) => progress[0].push(p) });
          const byRun = await verifyLog({ entries: toRuns(entries, size), checkpoints: log.checkpoints, verifier, progressInterval: interval, onProgress: (p) => progress[1].push(p) });
          expect(byRun).toEqual(byRecord);
          expect(progress[1]).toEqual(progress[0]);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses a run whose parts disagree (cannot run)', async () => {
    const [run] = toRuns(buildLog(3, 3).entries, 3);
    const bad = { ...run!, ends: Array.from(run!.ends).slice(0, 2) };
    await expect(verifyLog({ entries: [bad], checkpoints: [], verifier })).rejects.toMatchObject({ code: 'AUDIT_VERIFY_INPUT_INVALID' });
  });
});
