import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompactRange, leafHash, noteVerifier, signCheckpoint, verifyLog, ed25519RawPublicKey } from './index.js';

// Regression: verifyLog trusted exactly one key, so a log whose signing key was rotated
// (keys: `custos keys rotate --audit-signing`) could never verify again.
describe('verifyLog with a rotated signing key', () => {
  const name = 'rotation.test/log';
  const keys = [generateKeyPairSync('ed25519').privateKey, generateKeyPairSync('ed25519').privateKey];
  const verifiers = keys.map((k) => noteVerifier(name, ed25519RawPublicKey(k)));
  const entries = Array.from({ length: 8 }, (_, i) => Buffer.from(`{"i":${i}}`));
  const range = new CompactRange();
  const notes: string[] = [];
  entries.forEach((event, i) => {
    range.append(leafHash(event));
    notes.push(signCheckpoint({ origin: name, size: i + 1, root: range.root(), extensions: [] }, { name, privateKey: keys[i < 4 ? 0 : 1]! }));
  });
  const input = { entries: entries.map((event, index) => ({ index, event, leafHash: leafHash(event) })), checkpoints: notes };

  it('verifies when every version is trusted', async () => {
    const r = await verifyLog({ ...input, verifier: verifiers });
    expect(r.ok).toBe(true);
  });

  it('fails at the first checkpoint of an untrusted version', async () => {
    const r = await verifyLog({ ...input, verifier: verifiers[1]! });
    expect(r).toMatchObject({ ok: false, reason: 'bad-signature', firstBadIndex: 0 });
    const s = await verifyLog({ ...input, verifier: [verifiers[0]!] });
    expect(s).toMatchObject({ ok: false, reason: 'bad-signature', firstBadIndex: 4, checkpointSize: 5 });
  });
});
