// Node's AES-256-GCM, HKDF-SHA256 and HMAC-SHA256 as this module uses them,
// and the module's own helpers, against the Wycheproof vectors in
// ../shared/vectors/wycheproof (C2SP/wycheproof, Apache-2.0).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../shared/errors.js';
import { gcmOpen, gcmSeal } from './aead.js';
import { blindIndex, constantTimeEqual, hkdfSha256, hmacSha256 } from './kdf.js';

const DIR = path.resolve(process.cwd(), '../shared/vectors/wycheproof');
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

interface Group<T> {
  tests: T[];
  [k: string]: unknown;
}
function load<T>(file: string): Group<T>[] {
  return (JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as { testGroups: Group<T>[] }).testGroups;
}

interface AeadTest {
  tcId: number;
  comment: string;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface HkdfTest {
  tcId: number;
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
  result: string;
}
interface MacTest {
  tcId: number;
  key: string;
  msg: string;
  tag: string;
  result: string;
}

const gcm = load<AeadTest>('aes_gcm_test.json')
  .filter((g) => g['keySize'] === 256 && g['ivSize'] === 96 && g['tagSize'] === 128)
  .flatMap((g) => g.tests);

function nodeDecrypt(t: AeadTest): Buffer | null {
  const d = createDecipheriv('aes-256-gcm', hex(t.key), hex(t.iv), { authTagLength: 16 });
  d.setAuthTag(hex(t.tag));
  d.setAAD(hex(t.aad));
  const pt = d.update(hex(t.ct));
  try {
    d.final();
    return pt;
  } catch {
    return null;
  }
}

describe('Wycheproof AES-GCM (keySize 256, ivSize 96, tagSize 128)', () => {
  it('has the expected groups', () => {
    expect(gcm.length).toBeGreaterThanOrEqual(60);
    expect(gcm.some((t) => t.result === 'invalid')).toBe(true);
  });

  it.each(gcm)('tcId $tcId ($result) $comment', (t) => {
    const sealed = Buffer.concat([hex(t.iv), hex(t.ct), hex(t.tag)]);
    if (t.result === 'valid') {
      const c = createCipheriv('aes-256-gcm', hex(t.key), hex(t.iv), { authTagLength: 16 });
      c.setAAD(hex(t.aad));
      const ct = Buffer.concat([c.update(hex(t.msg)), c.final()]);
      expect(ct.toString('hex')).toBe(t.ct);
      expect(c.getAuthTag().toString('hex')).toBe(t.tag);
      expect(nodeDecrypt(t)?.toString('hex')).toBe(t.msg);
      expect(gcmSeal(hex(t.key), hex(t.msg), [hex(t.aad)], hex(t.iv)).equals(sealed)).toBe(true);
      expect(gcmOpen(hex(t.key), sealed, [hex(t.aad)])?.toString('hex')).toBe(t.msg);
    } else {
      expect(nodeDecrypt(t)).toBeNull();
      expect(gcmOpen(hex(t.key), sealed, [hex(t.aad)])).toBeNull();
    }
  });
});

describe('Wycheproof HKDF-SHA256', () => {
  const tests = load<HkdfTest>('hkdf_sha256_test.json').flatMap((g) => g.tests);
  it.each(tests)('tcId $tcId ($result) size $size', (t) => {
    if (t.result === 'valid') {
      expect(hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size).toString('hex')).toBe(t.okm);
    } else {
      let code = '';
      try {
        hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size);
      } catch (e) {
        code = isCustosError(e) ? e.code : 'uncoded';
      }
      expect(code).toBe('CRYPTO_INPUT_INVALID');
    }
  });
});

describe('Wycheproof HMAC-SHA256', () => {
  const groups = load<MacTest>('hmac_sha256_test.json');
  const cases = groups.flatMap((g) => g.tests.map((t) => ({ ...t, tagBytes: (g['tagSize'] as number) / 8 })));

  it.each(cases)('tcId $tcId ($result) tag $tagBytes bytes', (t) => {
    const mac = hmacSha256(hex(t.key), hex(t.msg)).subarray(0, t.tagBytes);
    expect(constantTimeEqual(mac, hex(t.tag))).toBe(t.result === 'valid');
    // blindIndex is a truncated HMAC-SHA256: for 32-byte keys it must agree.
    if (t.key.length === 64 && t.result === 'valid') {
      expect(blindIndex(hex(t.key), hex(t.msg), t.tagBytes)).toBe(hex(t.tag).toString('base64url'));
    }
  });
});
