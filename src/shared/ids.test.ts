import fc from 'fast-check';
import { v7 as uuidv7, version } from 'uuid';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatV7, isUuid, newId } from './ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newId', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is an RFC 9562 UUIDv7 carrying the current millisecond', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(isUuid(id)).toBe(true);
    expect(version(id)).toBe(7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  });

  it('is unique and strictly increasing across many pool refills, within and across milliseconds', () => {
    const ids = Array.from({ length: 20_000 }, newId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id, i) => i > 0 && id <= ids[i - 1]!)).toEqual([]);
  });

  it('stays monotonic when the clock stands still or steps back (the counter carries the order)', () => {
    const now = Date.now() + 10_000;
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
    const a = Array.from({ length: 600 }, newId);
    clock.mockReturnValue(now - 5_000);
    const b = Array.from({ length: 10 }, newId);
    const all = [...a, ...b];
    for (let i = 1; i < all.length; i++) expect(all[i]! > all[i - 1]!).toBe(true);
    expect(new Set(all.map(msOf)).size).toBe(1);
    expect(all.map((id) => id.slice(24))).toHaveLength(new Set(all.map((id) => id.slice(24))).size);
  });

  it('lays out time, counter and random bits exactly as the uuid package does (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (msecs, seq, random) => {
        expect(formatV7(msecs, seq, random, 0)).toBe(uuidv7({ msecs, seq, random }));
      }),
      { numRuns: 2000 },
    );
  });
});
