// Security tests: try to break the envelope. Every altered input must fail
// with a coded error and never yield plaintext (garbage or otherwise).
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../shared/errors.js';
import type { EncryptionContext } from './context.js';
import { ENVELOPE_HEADER_LEN, ENVELOPE_MIN_LEN, envelopeKeyId, open, prepareKey, seal } from './envelope.js';

const ctx: EncryptionContext = {
  tenantId: '0190c3a4-0000-7000-8000-00000000beef',
  purpose: 'integrations',
  objectId: '0190c3a4-1111-7111-8111-111111111111',
  field: 'oauthToken',
};

const EXPECTED_CODES = new Set([
  'CRYPTO_ENVELOPE_MALFORMED',
  'CRYPTO_ENVELOPE_VERSION',
  'CRYPTO_KEY_ID_MISMATCH',
  'CRYPTO_KEY_COMMITMENT_MISMATCH',
  'CRYPTO_DECRYPT_FAILED',
]);

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isCustosError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('altered envelope opened');
}

/** Which error a bit flip at byte `i` must raise, by envelope region. */
function expectedCodeAt(i: number): string {
  if (i === 0) return 'CRYPTO_ENVELOPE_VERSION';
  if (i < 17) return 'CRYPTO_KEY_ID_MISMATCH';
  if (i < ENVELOPE_HEADER_LEN) return 'CRYPTO_KEY_COMMITMENT_MISMATCH';
  return 'CRYPTO_DECRYPT_FAILED';
}

describe('tamper battery', () => {
  const key = prepareKey(randomUUID(), randomBytes(32));
  const plaintext = Buffer.from('jane.doe@example.com / +49 30 1234567');
  const env = seal(key, plaintext, ctx);

  it('rejects every single-bit flip of a sealed envelope with the error of the region it hit', () => {
    let flips = 0;
    for (let i = 0; i < env.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(env);
        bad[i]! ^= 1 << bit;
        const f = failure(() => open(key, bad, ctx));
        expect(f.code, `byte ${i} bit ${bit}`).toBe(expectedCodeAt(i));
        flips++;
      }
    }
    expect(flips).toBe(env.length * 8);
  });

  it('rejects the envelope under each swapped context field (other tenant, purpose, record, field)', () => {
    const swaps: EncryptionContext[] = [
      { ...ctx, tenantId: '0190c3a4-0000-7000-8000-00000000dead' },
      { ...ctx, purpose: 'subjects' },
      { ...ctx, objectId: '0190c3a4-1111-7111-8111-111111111112' },
      { ...ctx, field: 'refreshToken' },
      // Members moved across boundaries: same concatenation, other context.
      { ...ctx, purpose: 'integration', objectId: 's' + ctx.objectId },
    ];
    for (const other of swaps) {
      const f = failure(() => open(key, env, other));
      expect(f.code).toBe('CRYPTO_DECRYPT_FAILED');
      expect(f.message).toMatch(/tenant\/purpose\/object\/field/);
    }
  });

  it('rejects every truncation as malformed or unauthentic, and names the minimum length', () => {
    for (let len = 0; len < env.length; len++) {
      const f = failure(() => open(key, env.subarray(0, len), ctx));
      expect(f.code).toBe(len < ENVELOPE_MIN_LEN ? 'CRYPTO_ENVELOPE_MALFORMED' : 'CRYPTO_DECRYPT_FAILED');
    }
    expect(failure(() => open(key, env.subarray(0, 40), ctx)).message).toMatch(/at least 77/);
    expect(failure(() => envelopeKeyId(env.subarray(0, 40))).code).toBe('CRYPTO_ENVELOPE_MALFORMED');
  });

  it('rejects appended bytes', () => {
    expect(failure(() => open(key, Buffer.concat([env, Buffer.from([0])]), ctx)).code).toBe('CRYPTO_DECRYPT_FAILED');
  });

  it('rejects an unknown version before anything else', () => {
    const v2 = Buffer.from(env);
    v2[0] = 0x02;
    expect(failure(() => open(key, v2, ctx)).code).toBe('CRYPTO_ENVELOPE_VERSION');
    expect(failure(() => envelopeKeyId(v2)).code).toBe('CRYPTO_ENVELOPE_VERSION');
  });

  it('detects a different key presented under the same key id (commitment mismatch)', () => {
    const impostor = prepareKey(key.keyId, randomBytes(32));
    expect(failure(() => open(impostor, env, ctx)).code).toBe('CRYPTO_KEY_COMMITMENT_MISMATCH');
    // Even with the impostor's own commitment spliced in, GCM under its key fails.
    const spliced = Buffer.from(env);
    impostor.commitment.copy(spliced, 17);
    expect(failure(() => open(impostor, spliced, ctx)).code).toBe('CRYPTO_DECRYPT_FAILED');
  });

  it('names both key ids on a key id mismatch', () => {
    const other = prepareKey(randomUUID(), randomBytes(32));
    const f = failure(() => open(other, env, ctx));
    expect(f.code).toBe('CRYPTO_KEY_ID_MISMATCH');
    expect(f.message).toContain(key.keyId);
    expect(f.message).toContain(other.keyId);
  });
});

const text = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });
const contextArb = fc.record({ tenantId: text, purpose: text, objectId: text, field: text });

describe('properties (fast-check)', () => {
  const key = prepareKey(randomUUID(), randomBytes(32));

  it('any plaintext under any context round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), contextArb, (pt, c) => {
        const env = seal(key, Buffer.from(pt), c);
        expect(open(key, env, c).equals(Buffer.from(pt))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any mutation of the envelope (flip, truncate, extend, splice) fails with a coded error', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('add' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), contextArb, mutation, (pt, c, m) => {
        const env = seal(key, Buffer.from(pt), c);
        let bad: Buffer;
        if (m.kind === 'flip') {
          bad = Buffer.from(env);
          bad[m.at % env.length]! ^= m.mask;
        } else if (m.kind === 'cut') {
          bad = env.subarray(0, m.at % env.length);
        } else {
          bad = Buffer.concat([env, m.bytes]);
        }
        expect(EXPECTED_CODES.has(failure(() => open(key, bad, c)).code)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('any other context fails to open', () => {
    fc.assert(
      fc.property(contextArb, contextArb, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        const env = seal(key, Buffer.from('x'), a);
        expect(failure(() => open(key, env, b)).code).toBe('CRYPTO_DECRYPT_FAILED');
      }),
      { numRuns: 300 },
    );
  });
});
