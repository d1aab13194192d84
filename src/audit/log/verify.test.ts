/**
 * Tamper battery for the streaming verifier on an in-memory log of 100
 * entries with a checkpoint every 10 entries: every way of damaging the
 * stored log must be reported with the right first bad index; the untouched
 * log must verify.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJsonBytes } from './canonical.js';
import { signCheckpoint } from './checkpoint.js';
import { CompactRange, EMPTY_ROOT, leafHash, merkleRoot } from './merkle.js';
import { noteVerifier, type NoteSigner } from './note.js';
import { verifyLog, type LogEntryRecord, type VerifyLogInput } from './verify.js';

const ORIGIN = 'custos.test/audit';
const keys = generateKeyPairSync('ed25519');
const signer: NoteSigner = { name: ORIGIN, privateKey: keys.privateKey };
const verifier = noteVerifier(ORIGIN, keys.publicKey);
const impostor: NoteSigner = { name: ORIGIN, privateKey: generateKeyPairSync('ed25519').privateKey };

interface Entry {
  index: number;
  event: Buffer;
  leafHash: Buffer;
}
interface Log {
  entries: Entry[];
  checkpoints: string[];
}

const event = (i: number, tag = 'original'): Buffer =>
  canonicalJsonBytes({ class_uid: 6003, activity_id: 1, custos: { action: 'record.update', tag }, metadata: { uid: `e-${i}` }, time: 1_700_000_000_000 + i });
const entry = (index: number, data: Buffer): Entry => ({ index, event: data, leafHash: leafHash(data) });

/** Signs checkpoints every `every` entries (and at the end) over `entries` as they stand. */
function checkpointsFor(entries: readonly Entry[], every: number, by: NoteSigner = signer): string[] {
  const range = new CompactRange();
  const notes: string[] = [];
  entries.forEach((e, i) => {
    range.append(leafHash(e.event));
    if ((i + 1) % every === 0 || i + 1 === entries.length) {
      notes.push(signCheckpoint({ origin: ORIGIN, size: i + 1, root: range.root(), extensions: [] }, by));
    }
  });
  return notes;
}

function buildLog(n = 100, every = 10): Log {
  const entries = Array.from({ length: n }, (_, i) => entry(i, event(i)));
  return { entries, checkpoints: checkpointsFor(entries, every) };
}

const verify = (log: Log, extra: Partial<VerifyLogInput> = {}) =>
  verifyLog({ entries: log.entries, checkpoints: log.checkpoints, verifier, ...extra });
const renumber = (entries: Entry[]): Entry[] => entries.map((e, i) => ({ ...e, index: i }));
const noteOfSize = (log: Log, size: number): string => log.checkpoints.find((c) => c.includes(`\n${size}\n`))!;

describe('verifyLog: the untouched log', () => {
  it('verifies, with the root, the attested size and progress', async () => {
    const log = buildLog();
    const progress: number[] = [];
    const result = await verify(log, { onProgress: (n) => progress.push(n), progressInterval: 25 });
    expect(result).toEqual({
      ok: true,
      size: 100,
      root: merkleRoot(log.entries.map((e) => e.leafHash)),
      checkpointSize: 100,
      checkpointCount: 10,
      witnessSize: 0,
    });
    expect(progress).toEqual([25, 50, 75, 100]);
  });

  it('verifies from pages, async sources, with a witness, and when empty', async () => {
    const log = buildLog(37, 5);
    async function* pages() {
      for (let i = 0; i < log.entries.length; i += 8) yield log.entries.slice(i, i + 8);
    }
    async function* notes() {
      yield* log.checkpoints;
    }
    const witness = noteOfSize(log, 20);
    const result = await verifyLog({ entries: pages(), checkpoints: notes(), verifier, witness });
    expect(result).toMatchObject({ ok: true, size: 37, checkpointSize: 37, witnessSize: 20 });
    const empty = signCheckpoint({ origin: ORIGIN, size: 0, root: EMPTY_ROOT, extensions: [] }, signer);
    expect(await verifyLog({ entries: [], checkpoints: [empty], verifier })).toMatchObject({ ok: true, size: 0, root: EMPTY_ROOT });
  });
});

describe('verifyLog: tamper battery', () => {
  it('one byte of an event changed → changed-entry at that index', async () => {
    const log = buildLog();
    log.entries[37]!.event[5]! ^= 0x01;
    expect(await verify(log)).toMatchObject({ ok: false, reason: 'changed-entry', firstBadIndex: 37, badRange: { start: 37, end: 38 } });
  });

  it('an event changed together with its stored leaf hash → root mismatch at the next checkpoint', async () => {
    const log = buildLog();
    log.entries[37] = entry(37, event(37, 'forged'));
    expect(await verify(log)).toMatchObject({ ok: false, reason: 'root-mismatch', firstBadIndex: 30, badRange: { start: 30, end: 40 }, checkpointSize: 40 });
  });

  it('an entry deleted → missing-entry at its index; deleted and renumbered → root mismatch', async () => {
    const log = buildLog();
    const deleted = { ...log, entries: log.entries.filter((e) => e.index !== 52) };
    expect(await verify(deleted)).toMatchObject({ ok: false, reason: 'missing-entry', firstBadIndex: 52 });
    const renumbered = { ...log, entries: renumber(deleted.entries) };
    expect(await verify(renumbered)).toMatchObject({ ok: false, reason: 'root-mismatch', firstBadIndex: 50, checkpointSize: 60 });
  });

  it('an entry inserted → unexpected-entry at the index it takes, before or after the original', async () => {
    const log = buildLog();
    const forged = entry(61, event(61, 'inserted'));
    const after = [...log.entries.slice(0, 62), forged, ...log.entries.slice(62)];
    const before = [...log.entries.slice(0, 61), forged, ...log.entries.slice(61)];
    for (const entries of [after, before]) {
      expect(await verify({ ...log, entries })).toMatchObject({ ok: false, reason: 'unexpected-entry', firstBadIndex: 61 });
    }
    const renumbered = renumber(before);
    expect(await verify({ ...log, entries: renumbered })).toMatchObject({ ok: false, reason: 'root-mismatch', firstBadIndex: 60 });
  });

  it('two entries swapped → the first of them, however the swap was made', async () => {
    const log = buildLog();
    const rows = log.entries;
    // Rows returned in the wrong order.
    const order = [...rows.slice(0, 24), rows[25]!, rows[24]!, ...rows.slice(26)];
    expect(await verify({ ...log, entries: order })).toMatchObject({ ok: false, reason: 'missing-entry', firstBadIndex: 24 });
    // Events swapped between the rows, stored leaf hashes left in place.
    const events = rows.map((e, i) => (i === 24 ? { ...e, event: rows[25]!.event } : i === 25 ? { ...e, event: rows[24]!.event } : e));
    expect(await verify({ ...log, entries: events })).toMatchObject({ ok: false, reason: 'changed-entry', firstBadIndex: 24 });
    // Events and leaf hashes swapped, indexes kept: only the checkpoint root shows it.
    const contents = rows.map((e, i) => (i === 24 ? { ...rows[25]!, index: 24 } : i === 25 ? { ...rows[24]!, index: 25 } : e));
    expect(await verify({ ...log, entries: contents })).toMatchObject({ ok: false, reason: 'root-mismatch', firstBadIndex: 20, checkpointSize: 30 });
  });

  it('the tail truncated → truncated at the first missing index', async () => {
    const log = buildLog();
    const cut = { ...log, entries: log.entries.slice(0, 95) };
    expect(await verify(cut)).toMatchObject({ ok: false, reason: 'truncated', firstBadIndex: 95, badRange: { start: 95, end: 100 } });
    // With its checkpoint removed too, only a witness still knows the log was longer.
    const clean = { entries: cut.entries, checkpoints: log.checkpoints.slice(0, 9) };
    expect(await verify(clean)).toMatchObject({ ok: true, size: 95, checkpointSize: 90 });
    expect(await verify(clean, { witness: noteOfSize(log, 100) })).toMatchObject({ ok: false, reason: 'truncated', firstBadIndex: 95 });
  });

  it('a checkpoint signature replaced or damaged, or its text changed → bad-signature for its range', async () => {
    const log = buildLog();
    const at = log.checkpoints.indexOf(noteOfSize(log, 50));
    const original = log.checkpoints[at]!;
    const body = original.slice(0, original.lastIndexOf('\n\n') + 1);
    const sigStart = original.lastIndexOf(' ') + 1;
    const sig = Buffer.from(original.slice(sigStart, -1), 'base64');
    sig[10]! ^= 0x01;
    const variants = [
      signCheckpoint({ origin: ORIGIN, size: 50, root: Buffer.alloc(32), extensions: [] }, impostor), // another key
      `${original.slice(0, sigStart)}${sig.toString('base64')}\n`, // same key ID, damaged signature
      original.replace(body, body.replace('\n50\n', '\n51\n')), // text changed under the signature
    ];
    for (const note of variants) {
      const checkpoints = log.checkpoints.map((c, i) => (i === at ? note : c));
      expect(await verify({ ...log, checkpoints })).toMatchObject({ ok: false, reason: 'bad-signature', firstBadIndex: 40 });
    }
    const foreign = signCheckpoint({ origin: 'other.example/log', size: 50, root: Buffer.alloc(32), extensions: [] }, signer);
    const checkpoints = log.checkpoints.map((c, i) => (i === at ? foreign : c));
    expect(await verify({ ...log, checkpoints })).toMatchObject({ ok: false, reason: 'malformed-checkpoint', firstBadIndex: 40 });
  });

  it('history rewritten and re-signed with the same key → only a witness catches it, from its size', async () => {
    const log = buildLog();
    const witnesses = [noteOfSize(log, 20), noteOfSize(log, 50)];
    const rewritten = log.entries.map((e) => (e.index >= 33 ? entry(e.index, event(e.index, 'rewritten')) : e));
    const resigned: Log = { entries: rewritten, checkpoints: checkpointsFor(rewritten, 10) };
    expect(await verify(resigned)).toMatchObject({ ok: true, size: 100 });
    expect(await verify(resigned, { witness: witnesses[1] })).toMatchObject({
      ok: false,
      reason: 'witness-mismatch',
      firstBadIndex: 0,
      badRange: { start: 0, end: 50 },
      checkpointSize: 50,
    });
    expect(await verify(resigned, { witness: witnesses })).toMatchObject({ ok: false, reason: 'witness-mismatch', firstBadIndex: 20 });
  });

  it('cannot run (rejects) on a bad witness, checkpoints out of order, or a non-numeric index', async () => {
    const log = buildLog(30, 10);
    const foreignWitness = signCheckpoint({ origin: ORIGIN, size: 10, root: Buffer.alloc(32), extensions: [] }, impostor);
    await expect(verify(log, { witness: foreignWitness })).rejects.toMatchObject({ code: 'AUDIT_WITNESS_INVALID' });
    await expect(verify({ ...log, checkpoints: [...log.checkpoints].reverse() })).rejects.toMatchObject({ code: 'AUDIT_VERIFY_INPUT_INVALID' });
    const stringIndex = log.entries.map((e) => ({ ...e, index: String(e.index) })) as unknown as LogEntryRecord[];
    await expect(verifyLog({ entries: stringIndex, checkpoints: [], verifier })).rejects.toMatchObject({ code: 'AUDIT_VERIFY_INPUT_INVALID' });
  });

  it('finds any single-byte change, deletion or duplicate at its exact index (fast-check)', async () => {
    const log = buildLog(60, 7);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 59 }), fc.constantFrom('flip', 'hash', 'delete', 'duplicate'), fc.nat(), async (i, kind, seed) => {
        const entries = log.entries.map((e) => ({ ...e, event: Buffer.from(e.event), leafHash: Buffer.from(e.leafHash) }));
        if (kind === 'flip') entries[i]!.event[seed % entries[i]!.event.length]! ^= 1 << seed % 8;
        if (kind === 'hash') entries[i]!.leafHash[seed % 32]! ^= 1 << seed % 8;
        if (kind === 'delete') entries.splice(i, 1);
        if (kind === 'duplicate') entries.splice(i, 0, entries[i]!);
        const result = await verifyLog({ entries, checkpoints: log.checkpoints, verifier });
        const expected = kind === 'delete' && i === 59 ? 'truncated' : kind === 'delete' ? 'missing-entry' : kind === 'duplicate' ? 'unexpected-entry' : 'changed-entry';
        expect(result).toMatchObject({ ok: false, firstBadIndex: i, reason: expected });
      }),
      { numRuns: 120 },
    );
  });
});

describe('verifyLog: resources', () => {
  it('closes the checkpoint source when it stops early', async () => {
    const log = buildLog(30, 10);
    let closed = false;
    async function* notes() {
      try {
        yield* log.checkpoints;
      } finally {
        closed = true;
      }
    }
    log.entries[3]!.event[0]! ^= 1;
    expect(await verifyLog({ entries: log.entries, checkpoints: notes(), verifier })).toMatchObject({ ok: false, firstBadIndex: 3 });
    expect(closed).toBe(true);
  });
});
