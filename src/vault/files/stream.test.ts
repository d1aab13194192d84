// The STREAM format: round trips across chunk boundaries, and every way of
// altering a sealed file fails with VAULT_FILE_CORRUPT before yielding any
// plaintext past the bad chunk.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../../shared/errors.js';
import { createOpenStream, createSealStream, FILE_HEADER_LEN } from './stream.js';

const CHUNK = 1024; // small chunks so properties cross many boundaries quickly
const SEALED_CHUNK = CHUNK + 16;
const AAD = Buffer.from('tenant|collection|record|file:doc:blob');

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Feeds `data` in pieces of `piece` bytes (stream chunking must not matter). */
function source(data: Buffer, piece = 700): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) parts.push(data.subarray(i, i + piece));
  return Readable.from(parts);
}

async function sealBuf(key: Buffer, pt: Buffer, aad = AAD, piece?: number) {
  const s = createSealStream(key, aad, { chunkSize: CHUNK });
  const sealed = await collect(source(pt, piece).pipe(s));
  return { sealed, summary: s.summary() };
}

/** Opens `sealed`; returns the plaintext or the error code and how many bytes were yielded before it. */
async function openBuf(key: Buffer, sealed: Buffer, aad = AAD, opts = {}): Promise<{ pt?: Buffer; code?: string; yielded: number }> {
  const o = createOpenStream(key, aad, opts);
  let yielded = 0;
  const parts: Buffer[] = [];
  try {
    for await (const p of source(sealed, 333).pipe(o)) {
      yielded += (p as Buffer).length;
      parts.push(p as Buffer);
    }
    return { pt: Buffer.concat(parts), yielded };
  } catch (e) {
    if (!isCustosError(e)) throw e;
    return { code: e.code, yielded };
  }
}

describe('sealed file stream', () => {
  it('round-trips any size, across chunk boundaries, and reports SHA-256 and size', async () => {
    const sizes = fc.oneof(fc.integer({ min: 0, max: 5 * CHUNK + 3 }), fc.constantFrom(0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 1));
    await fc.assert(
      fc.asyncProperty(sizes, fc.integer({ min: 1, max: 3000 }), async (n, piece) => {
        const key = randomBytes(32);
        const pt = randomBytes(n);
        const { sealed, summary } = await sealBuf(key, pt, AAD, piece);
        const chunks = Math.max(1, Math.ceil(n / CHUNK));
        expect(sealed.length).toBe(FILE_HEADER_LEN + n + 16 * chunks);
        expect(summary.size).toBe(n);
        expect(summary.sealedSize).toBe(sealed.length);
        const { createHash } = await import('node:crypto');
        expect(summary.sha256).toBe(createHash('sha256').update(pt).digest('hex'));
        const out = await openBuf(key, sealed, AAD, { expectedSha256: summary.sha256, expectedSize: n });
        expect(out.code).toBeUndefined();
        expect(out.pt!.equals(pt)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('any modification (bit flip, cut, extension) fails with VAULT_FILE_CORRUPT', async () => {
    const key = randomBytes(32);
    const pt = randomBytes(3 * CHUNK + 100);
    const { sealed } = await sealBuf(key, pt);
    const edits = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(sealed.length - 1), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(sealed.length - 1), bit: fc.constant(0) }),
      fc.record({ kind: fc.constant('extend' as const), at: fc.integer({ min: 1, max: 40 }), bit: fc.constant(0) }),
    );
    await fc.assert(
      fc.asyncProperty(edits, async ({ kind, at, bit }) => {
        let bad: Buffer;
        if (kind === 'flip') {
          bad = Buffer.from(sealed);
          bad[at] = (bad[at] as number) ^ (1 << bit);
        } else if (kind === 'cut') bad = sealed.subarray(0, at);
        else bad = Buffer.concat([sealed, randomBytes(at)]);
        const out = await openBuf(key, bad);
        expect(out.code).toMatch(/^VAULT_FILE_(CORRUPT|VERSION)$/);
        // Nothing past the chunk before the damage is ever released.
        const firstBadChunk = kind === 'extend' ? 3 : Math.max(0, Math.floor((Math.min(at, sealed.length) - FILE_HEADER_LEN) / SEALED_CHUNK));
        expect(out.yielded).toBeLessThanOrEqual(firstBadChunk * CHUNK);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses truncation at a chunk boundary (the new last chunk was not sealed as last)', async () => {
    const key = randomBytes(32);
    const { sealed } = await sealBuf(key, randomBytes(3 * CHUNK + 5));
    const cut = sealed.subarray(0, FILE_HEADER_LEN + 2 * SEALED_CHUNK);
    const out = await openBuf(key, cut);
    expect(out.code).toBe('VAULT_FILE_CORRUPT');
    // chunk 0 is authentic and may be read before the error; chunk 1 fails as a last chunk
    expect(out.yielded).toBeLessThanOrEqual(CHUNK);
  });

  it('refuses reordered and duplicated chunks', async () => {
    const key = randomBytes(32);
    const { sealed } = await sealBuf(key, randomBytes(3 * CHUNK + 5));
    const c = (i: number) => sealed.subarray(FILE_HEADER_LEN + i * SEALED_CHUNK, FILE_HEADER_LEN + (i + 1) * SEALED_CHUNK);
    const head = sealed.subarray(0, FILE_HEADER_LEN);
    const tail = sealed.subarray(FILE_HEADER_LEN + 3 * SEALED_CHUNK);
    const swapped = Buffer.concat([head, c(1), c(0), c(2), tail]);
    expect((await openBuf(key, swapped)).code).toBe('VAULT_FILE_CORRUPT');
    const duplicated = Buffer.concat([head, c(0), c(0), c(1), c(2), tail]);
    expect((await openBuf(key, duplicated)).code).toBe('VAULT_FILE_CORRUPT');
    const dropped = Buffer.concat([head, c(0), c(2), tail]);
    expect((await openBuf(key, dropped)).code).toBe('VAULT_FILE_CORRUPT');
  });

  it('refuses a chunk taken from another file under the same key and context', async () => {
    const key = randomBytes(32);
    const a = (await sealBuf(key, randomBytes(2 * CHUNK + 5))).sealed;
    const b = (await sealBuf(key, randomBytes(2 * CHUNK + 5))).sealed;
    const mixed = Buffer.from(a);
    b.copy(mixed, FILE_HEADER_LEN + SEALED_CHUNK, FILE_HEADER_LEN + SEALED_CHUNK, FILE_HEADER_LEN + 2 * SEALED_CHUNK);
    const out = await openBuf(key, mixed);
    expect(out.code).toBe('VAULT_FILE_CORRUPT');
    expect(out.yielded).toBeLessThanOrEqual(CHUNK);
  });

  it('refuses the wrong AAD or key before decrypting anything', async () => {
    const key = randomBytes(32);
    const { sealed } = await sealBuf(key, randomBytes(CHUNK * 2));
    const other = await openBuf(key, sealed, Buffer.from('tenant|collection|OTHER-record|file:doc:blob'));
    expect(other).toMatchObject({ code: 'VAULT_FILE_CORRUPT', yielded: 0 });
    expect((await openBuf(randomBytes(32), sealed)).code).toBe('VAULT_FILE_CORRUPT');
  });

  it('refuses an unknown format version and a non-sealed file', async () => {
    const key = randomBytes(32);
    const { sealed } = await sealBuf(key, Buffer.from('hello'));
    const v2 = Buffer.from(sealed);
    v2[4] = 2;
    expect((await openBuf(key, v2)).code).toBe('VAULT_FILE_VERSION');
    expect((await openBuf(key, Buffer.from('%PDF-1.4 plain file that was never sealed at all........'))).code).toBe('VAULT_FILE_CORRUPT');
    expect((await openBuf(key, Buffer.alloc(0))).code).toBe('VAULT_FILE_CORRUPT');
  });

  it('reports a recorded hash or size that differs', async () => {
    const key = randomBytes(32);
    const { sealed } = await sealBuf(key, Buffer.from('hello'));
    expect((await openBuf(key, sealed, AAD, { expectedSize: 6 })).code).toBe('VAULT_FILE_CORRUPT');
    expect((await openBuf(key, sealed, AAD, { expectedSha256: '00'.repeat(32) })).code).toBe('VAULT_FILE_CORRUPT');
  });

  it('stops with VAULT_FILE_TOO_LARGE while streaming past maxBytes', async () => {
    const s = createSealStream(randomBytes(32), AAD, { chunkSize: CHUNK, maxBytes: 2000 });
    await expect(collect(source(randomBytes(5000)).pipe(s))).rejects.toMatchObject({ code: 'VAULT_FILE_TOO_LARGE', status: 413 });
  });
});
