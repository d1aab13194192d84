import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../shared/errors.js';
import type { EncryptionContext } from './context.js';
import { encodeContext, encodeParts } from './context.js';
import {
  ENVELOPE_MIN_LEN,
  envelopeKeyId,
  open,
  prepareKey,
  seal,
  sealEnvelope,
  uuidToBytes,
} from './envelope.js';
import { unwrapKey, wrapKey } from './wrap.js';

interface EnvelopeVector {
  keyId: string;
  key: string;
  iv: string;
  context: EncryptionContext;
  plaintext: string;
  commitment: string;
  envelope: string;
}

const vector = JSON.parse(
  readFileSync(new URL('./testdata/envelope-v1.json', import.meta.url), 'utf8'),
) as EnvelopeVector;

const ctx: EncryptionContext = { tenantId: 't-1', purpose: 'integrations', objectId: 'obj-1', field: 'token' };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isCustosError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a coded error');
}

describe('envelope v1 fixed vector (src/crypto/testdata/envelope-v1.json)', () => {
  const key = prepareKey(vector.keyId, Buffer.from(vector.key, 'hex'));

  it('opens the checked-in envelope to the recorded plaintext', () => {
    const pt = open(key, Buffer.from(vector.envelope, 'hex'), vector.context);
    expect(pt.toString('hex')).toBe(vector.plaintext);
  });

  it('derives the recorded commitment and reproduces the envelope byte for byte with the recorded IV', () => {
    expect(key.commitment.toString('hex')).toBe(vector.commitment);
    const env = sealEnvelope(key, Buffer.from(vector.plaintext, 'hex'), vector.context, {
      fixedIv: Buffer.from(vector.iv, 'hex'),
    });
    expect(env.toString('hex')).toBe(vector.envelope);
  });

  it('reads the key id without decrypting', () => {
    expect(envelopeKeyId(Buffer.from(vector.envelope, 'hex'))).toBe(vector.keyId);
  });
});

describe('seal / open', () => {
  it('round-trips, including an empty plaintext, and uses a fresh IV each time', () => {
    const key = prepareKey(randomUUID(), randomBytes(32));
    for (const pt of [Buffer.alloc(0), Buffer.from('hello'), randomBytes(70_000)]) {
      const a = seal(key, pt, ctx);
      const b = seal(key, pt, ctx);
      expect(a.length).toBe(ENVELOPE_MIN_LEN + pt.length);
      expect(a.equals(b)).toBe(false);
      expect(open(key, a, ctx).equals(pt)).toBe(true);
    }
  });

  it('normalises the key id to lower case and rejects non-UUID ids and wrong key sizes', () => {
    const id = randomUUID().toUpperCase();
    expect(prepareKey(id, randomBytes(32)).keyId).toBe(id.toLowerCase());
    expect(codeOf(() => prepareKey('not-a-uuid', randomBytes(32)))).toBe('CRYPTO_KEY_INVALID');
    expect(codeOf(() => prepareKey(randomUUID(), randomBytes(16)))).toBe('CRYPTO_KEY_INVALID');
    expect(uuidToBytes(id).length).toBe(16);
  });

  it('counts encryptions and refuses to seal past the usage limit (KEY_USAGE_LIMIT), while open still works', () => {
    const key = prepareKey(randomUUID(), randomBytes(32), { usageLimit: 3, initialUsage: 1 });
    const env = seal(key, Buffer.from('a'), ctx);
    seal(key, Buffer.from('b'), ctx);
    expect(key.usage).toBe(3);
    expect(codeOf(() => seal(key, Buffer.from('c'), ctx))).toBe('KEY_USAGE_LIMIT');
    expect(key.usage).toBe(3);
    expect(open(key, env, ctx).toString()).toBe('a');
  });

  it('defaults the usage limit to 2^32 and refuses a larger one', () => {
    expect(prepareKey(randomUUID(), randomBytes(32)).usageLimit).toBe(2 ** 32);
    expect(codeOf(() => prepareKey(randomUUID(), randomBytes(32), { usageLimit: 2 ** 32 + 1 }))).toBe(
      'CRYPTO_INPUT_INVALID',
    );
  });

  it('does not count a seal that was refused for a bad context', () => {
    const key = prepareKey(randomUUID(), randomBytes(32));
    expect(codeOf(() => seal(key, Buffer.from('x'), { ...ctx, field: '' }))).toBe('CRYPTO_CONTEXT_INVALID');
    expect(key.usage).toBe(0);
  });

  it('keeps key material out of inspect, JSON and error messages', () => {
    const dk = randomBytes(32);
    const key = prepareKey(randomUUID(), dk);
    const shown = inspect(key, { showHidden: true, depth: 5 }) + JSON.stringify(key);
    expect(shown).not.toContain(dk.toString('hex'));
    expect(shown).not.toContain('encKey');
    const other = prepareKey(key.keyId, randomBytes(32));
    const env = seal(key, Buffer.from('x'), ctx);
    const messages = [
      (): unknown => open(other, env, ctx),
      (): unknown => open(key, env, { ...ctx, field: 'other' }),
    ].map((fn) => {
      try {
        fn();
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    });
    for (const m of messages) {
      expect(m).toMatch(/key /);
      expect(m).not.toMatch(/[0-9a-f]{32}/);
    }
  });

  it('refuses every use after destroy() (CRYPTO_KEY_DESTROYED)', () => {
    const key = prepareKey(randomUUID(), randomBytes(32));
    const env = seal(key, Buffer.from('x'), ctx);
    key.destroy();
    expect(codeOf(() => open(key, env, ctx))).toBe('CRYPTO_KEY_DESTROYED');
    expect(codeOf(() => seal(key, Buffer.from('x'), ctx))).toBe('CRYPTO_KEY_DESTROYED');
  });

  it('reserves the key-wrap purpose prefix for wrapKey', () => {
    const key = prepareKey(randomUUID(), randomBytes(32));
    const bad = { ...ctx, purpose: 'custos.key/subject-dek' };
    expect(codeOf(() => seal(key, Buffer.from('x'), bad))).toBe('CRYPTO_CONTEXT_INVALID');
  });
});

describe('encryption context encoding', () => {
  it('is injective across field boundaries (length-prefixed)', () => {
    const a = encodeContext({ tenantId: 'ab', purpose: 'c', objectId: 'd', field: 'e' });
    const b = encodeContext({ tenantId: 'a', purpose: 'bc', objectId: 'd', field: 'e' });
    expect(a.equals(b)).toBe(false);
    expect(encodeParts('ab', 'c').equals(encodeParts('a', 'bc'))).toBe(false);
  });

  it('refuses empty, oversized and ill-formed members', () => {
    expect(codeOf(() => encodeContext({ ...ctx, tenantId: '' }))).toBe('CRYPTO_CONTEXT_INVALID');
    expect(codeOf(() => encodeContext({ ...ctx, objectId: 'x'.repeat(1025) }))).toBe('CRYPTO_CONTEXT_INVALID');
    // "\uD800" and "\uFFFD" would both encode to EF BF BD; the lone surrogate is refused.
    expect(codeOf(() => encodeContext({ ...ctx, field: '\uD800' }))).toBe('CRYPTO_CONTEXT_INVALID');
    expect(encodeContext({ ...ctx, field: '\u{1F600}' }).length).toBeGreaterThan(0);
  });
});

describe('wrapKey / unwrapKey', () => {
  const parent = prepareKey(randomUUID(), randomBytes(32));
  const child = randomBytes(32);
  const w = { tenantId: 't-1', purpose: 'subject-dek', childKeyId: randomUUID() };

  it('round-trips a child key bound to tenant, purpose and child key id', () => {
    const wrapped = wrapKey(parent, child, w);
    expect(envelopeKeyId(wrapped)).toBe(parent.keyId);
    expect(unwrapKey(parent, wrapped, w).equals(child)).toBe(true);
  });

  it('fails to unwrap under another child id, purpose or tenant', () => {
    const wrapped = wrapKey(parent, child, w);
    for (const bad of [
      { ...w, childKeyId: randomUUID() },
      { ...w, purpose: 'tenant-dek' },
      { ...w, tenantId: 't-2' },
    ]) {
      expect(codeOf(() => unwrapKey(parent, wrapped, bad))).toBe('CRYPTO_DECRYPT_FAILED');
    }
  });

  it('keeps wrapped keys and data apart: a wrapped key cannot be opened as data', () => {
    const wrapped = wrapKey(parent, child, w);
    const asData = { tenantId: w.tenantId, purpose: 'subject-dek', objectId: w.childKeyId, field: 'key' };
    expect(codeOf(() => open(parent, wrapped, asData))).toBe('CRYPTO_DECRYPT_FAILED');
  });

  it('refuses an empty or oversized child key', () => {
    expect(codeOf(() => wrapKey(parent, Buffer.alloc(0), w))).toBe('CRYPTO_KEY_INVALID');
    expect(codeOf(() => wrapKey(parent, Buffer.alloc(2048), w))).toBe('CRYPTO_KEY_INVALID');
  });
});
