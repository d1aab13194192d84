import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRootKeyProvider, openRootKeyProvider } from './index.js';

describe('root key provider factory', () => {
  it('creates, then opens, the configured provider (local)', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'custos-factory-')), 'keyring');
    try {
      const cfg = { kind: 'local' as const, dir, passphrase: 'a long enough passphrase', scrypt: { N: 1024, r: 8, p: 1 } };
      const created = await createRootKeyProvider(cfg);
      const key = randomBytes(32);
      const wrapped = await created.wrap(key, Buffer.from('aad'));
      await created.close();
      const opened = await openRootKeyProvider(cfg);
      expect(opened.kind).toBe('local');
      expect((await opened.unwrap(wrapped, Buffer.from('aad'))).equals(key)).toBe(true);
      await opened.close();
      await expect(createRootKeyProvider(cfg)).rejects.toMatchObject({ code: 'KEY_KEYRING_EXISTS' });
    } finally {
      await rm(join(dir, '..'), { recursive: true, force: true });
    }
  });
});
