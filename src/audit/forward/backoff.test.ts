import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { signBody } from './https.js';

describe('backoffDelay', () => {
  const o = { baseMs: 500, maxMs: 30_000 };
  it('doubles from the base, keeps the upper half random, caps at the maximum', () => {
    expect(backoffDelay(0, o)).toBe(0);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, o, () => 0))).toEqual([250, 500, 1000, 2000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, o, () => 0.999999))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(7, o, () => 0.999999)).toBe(30_000);
    expect(backoffDelay(1000, o, () => 0.5)).toBe(22_500);
  });
});

describe('signBody', () => {
  it('is HMAC-SHA256 over "t.body" in hex (vector computed with Python hmac)', () => {
    expect(signBody('whsec_test_secret_0123456789abcdef', 1_700_000_000, '{"entries":[]}')).toBe(
      't=1700000000,v1=9bb721b814e062be5eb3e13cb0031f6227057db500c6051a801c13b8f83083d5',
    );
  });
});
