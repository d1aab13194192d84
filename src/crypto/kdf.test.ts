import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../shared/errors.js';
import { blindIndex, constantTimeEqual, deriveIndexKey, hkdfSha256, hmacSha256, timingSafeEqualStr } from './kdf.js';

interface Rfc5869Case {
  name: string;
  ikm: string;
  salt: string;
  info: string;
  length: number;
  prk: string;
  okm: string;
}
const rfc5869 = JSON.parse(
  readFileSync(new URL('./testdata/rfc5869-hkdf-sha256.json', import.meta.url), 'utf8'),
) as { source: string; cases: Rfc5869Case[] };

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isCustosError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a coded error');
}

describe('HKDF-SHA256 against RFC 5869 Appendix A (test cases 1-3)', () => {
  it.each(rfc5869.cases)('$name', (c) => {
    expect(hkdfSha256(hex(c.ikm), hex(c.salt), hex(c.info), c.length).toString('hex')).toBe(c.okm);
    // The extract step alone: PRK = HMAC-SHA256(salt or HashLen zeros, IKM).
    const salt = c.salt === '' ? Buffer.alloc(32) : hex(c.salt);
    expect(hmacSha256(salt, hex(c.ikm)).toString('hex')).toBe(c.prk);
  });

  it('refuses output lengths outside 1..8160', () => {
    expect(codeOf(() => hkdfSha256(randomBytes(32), Buffer.alloc(0), '', 8161))).toBe('CRYPTO_INPUT_INVALID');
    expect(codeOf(() => hkdfSha256(randomBytes(32), Buffer.alloc(0), '', 0))).toBe('CRYPTO_INPUT_INVALID');
  });
});

describe('blind indexes', () => {
  const tenantA = randomBytes(32);
  const tenantB = randomBytes(32);

  it('derives one key per tenant, collection and field (length-prefixed info)', () => {
    const k = deriveIndexKey(tenantA, 'subjects', 'email');
    expect(k.length).toBe(32);
    expect(deriveIndexKey(tenantA, 'subjects', 'email').equals(k)).toBe(true);
    expect(deriveIndexKey(tenantA, 'subjects', 'phone').equals(k)).toBe(false);
    expect(deriveIndexKey(tenantB, 'subjects', 'email').equals(k)).toBe(false);
    expect(deriveIndexKey(tenantA, 'ab', 'c').equals(deriveIndexKey(tenantA, 'a', 'bc'))).toBe(false);
  });

  it('is deterministic per key, differs across tenants, and is 128-bit base64url by default', () => {
    const ka = deriveIndexKey(tenantA, 'subjects', 'email');
    const kb = deriveIndexKey(tenantB, 'subjects', 'email');
    const v = 'jane.doe@example.com';
    expect(blindIndex(ka, v)).toBe(blindIndex(ka, v));
    expect(blindIndex(ka, v)).not.toBe(blindIndex(kb, v));
    expect(blindIndex(ka, v)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(blindIndex(ka, v, 32)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(blindIndex(ka, v)).toBe(hmacSha256(ka, v).subarray(0, 16).toString('base64url'));
  });

  it('refuses bad keys, lengths and ill-formed values', () => {
    expect(codeOf(() => deriveIndexKey(randomBytes(16), 'c', 'f'))).toBe('CRYPTO_KEY_INVALID');
    expect(codeOf(() => deriveIndexKey(tenantA, '', 'f'))).toBe('CRYPTO_INPUT_INVALID');
    expect(codeOf(() => blindIndex(randomBytes(31), 'v'))).toBe('CRYPTO_KEY_INVALID');
    expect(codeOf(() => blindIndex(tenantA, 'v', 4))).toBe('CRYPTO_INPUT_INVALID');
    expect(codeOf(() => blindIndex(tenantA, '\uDC00'))).toBe('CRYPTO_INPUT_INVALID');
  });
});

describe('constant-time comparisons', () => {
  it('timingSafeEqualStr compares content, including different lengths and non-ASCII', () => {
    expect(timingSafeEqualStr('abc', 'abc')).toBe(true);
    expect(timingSafeEqualStr('abc', 'abd')).toBe(false);
    expect(timingSafeEqualStr('abc', 'abcd')).toBe(false);
    expect(timingSafeEqualStr('', '')).toBe(true);
    expect(timingSafeEqualStr('größe', 'größe')).toBe(true);
    expect(timingSafeEqualStr('größe', 'grosse')).toBe(false);
  });

  it('constantTimeEqual returns false (not a throw) on different lengths', () => {
    expect(constantTimeEqual(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
    expect(constantTimeEqual(Buffer.from('ab'), Buffer.from('abc'))).toBe(false);
  });
});
