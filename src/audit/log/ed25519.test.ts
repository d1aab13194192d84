/**
 * Ed25519 against the Wycheproof vectors (C2SP/wycheproof testvectors_v1,
 * commit dac1dd4729fd1f8dd9e1e9f3dce51d783da6c166, Apache-2.0), read in place
 * from ../shared/vectors/wycheproof/ed25519_test.json: every `valid` signature
 * verifies, every `invalid` one (malleable S, bad encodings, truncated,
 * trailing garbage, small-order R...) is refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyFromRaw,
  ed25519RawPublicKey,
  ed25519Sign,
  ed25519Verify,
  isWeakEd25519PublicKey,
} from './ed25519.js';

interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: {
    publicKey: { pk: string };
    tests: { tcId: number; comment: string; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable'; flags: string[] }[];
  }[];
}

const file = JSON.parse(
  readFileSync(path.resolve(process.cwd(), '../shared/vectors/wycheproof/ed25519_test.json'), 'utf8'),
) as WycheproofFile;
const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ pk: g.publicKey.pk, ...t })));

describe('Ed25519 (Wycheproof)', () => {
  it('loads every test of the file', () => {
    expect(file.algorithm).toBe('EDDSA');
    expect(cases.length).toBe(file.numberOfTests);
  });

  it.each(cases.map((c) => [c.tcId, c.result, c.flags.join(','), c] as const))('tcId %i is %s (%s)', (_id, result, _flags, c) => {
    const key = ed25519PublicKeyFromRaw(Buffer.from(c.pk, 'hex'));
    expect(ed25519Verify(key, Buffer.from(c.msg, 'hex'), Buffer.from(c.sig, 'hex'))).toBe(result === 'valid');
  });
});

describe('Ed25519 key helpers', () => {
  it('round-trips seeds and raw public keys, and signs deterministically', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const raw = ed25519RawPublicKey(publicKey);
    expect(ed25519RawPublicKey(privateKey)).toEqual(raw);
    const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    const again = ed25519PrivateKeyFromSeed(seed);
    const msg = Buffer.from('checkpoint\n');
    expect(ed25519Sign(again, msg)).toEqual(ed25519Sign(privateKey, msg));
    expect(ed25519Verify(ed25519PublicKeyFromRaw(raw), msg, ed25519Sign(again, msg))).toBe(true);
  });

  it('refuses non-canonical and small-order public keys', () => {
    const weak = [
      '0100000000000000000000000000000000000000000000000000000000000000', // identity
      '0100000000000000000000000000000000000000000000000000000000000080', // identity, sign bit set
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
      '0000000000000000000000000000000000000000000000000000000000000000', // order 4
      '0000000000000000000000000000000000000000000000000000000000000080', // order 4
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p: non-canonical
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1: non-canonical identity
    ];
    for (const hex of weak) {
      expect(isWeakEd25519PublicKey(Buffer.from(hex, 'hex')), hex).toBe(true);
      expect(() => ed25519PublicKeyFromRaw(Buffer.from(hex, 'hex'))).toThrow(expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }));
    }
    const keys = new Set(cases.map((c) => c.pk));
    for (const pk of keys) expect(isWeakEd25519PublicKey(Buffer.from(pk, 'hex')), pk).toBe(false);
  });

  it('refuses wrong key sizes and non-Ed25519 keys with AUDIT_KEY_INVALID', () => {
    expect(() => ed25519PrivateKeyFromSeed(Buffer.alloc(31))).toThrow(expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }));
    expect(() => ed25519PublicKeyFromRaw(Buffer.alloc(33))).toThrow(expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => ed25519RawPublicKey(privateKey)).toThrow(expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }));
    expect(() => ed25519Sign(privateKey, Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }));
  });
});
