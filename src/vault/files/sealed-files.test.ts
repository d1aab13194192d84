// The local blob store (atomic, never overwrites, nothing left behind on
// error) and the sealed file layer over it with a keyring stand-in.
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { open as openEnvelope, prepareKey, seal as sealEnvelope, type EncryptionContext } from '../../crypto/index.js';
import type { SealTarget } from '../../keys/index.js';
import { createLocalBlobStore, type LocalBlobStore } from './blob-store.js';
import { createUploadInspector } from './inspect.js';
import { createFileVault, type FileRef, type FileVault } from './sealed-files.js';

/** A keyring stand-in: one data key, the real envelope format. */
function fakeKeyring() {
  const key = prepareKey(randomUUID(), randomBytes(32));
  return {
    seal: async (_t: SealTarget, pt: Buffer, ctx: EncryptionContext) => sealEnvelope(key, pt, ctx),
    open: async (env: Buffer, ctx: EncryptionContext) => openEnvelope(key, env, ctx),
  };
}

async function read(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Every file under `dir` (recursively). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

const ref: FileRef = { tenantId: randomUUID(), collection: 'customers', recordId: randomUUID(), field: 'passport' };
const target: SealTarget = { tenantId: ref.tenantId, subjectId: ref.recordId };

describe('local blob store and sealed files', () => {
  let dir: string;
  let store: LocalBlobStore;
  let files: FileVault;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-blobs-'));
    store = await createLocalBlobStore({ dir: path.join(dir, 'blobs') });
    files = createFileVault({ keyring: fakeKeyring(), store, maxBytes: 1024 * 1024, chunkSize: 4096 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores, reads back and deletes a blob; files are 0600 under random ids', async () => {
    const { id, bytes } = await store.put(Readable.from([Buffer.from('abc'), Buffer.from('def')]));
    expect(bytes).toBe(6);
    expect(await store.exists(id)).toBe(true);
    expect((await read(await store.get(id))).toString()).toBe('abcdef');
    const [file] = filesUnder(store.dir);
    expect(statSync(file!).mode & 0o777).toBe(0o600);
    expect(path.basename(file!)).toBe(id);
    expect(await store.delete(id)).toBe(true);
    expect(await store.delete(id)).toBe(false);
    await expect(store.get(id)).rejects.toMatchObject({ code: 'VAULT_BLOB_NOT_FOUND', status: 404 });
  });

  it('refuses ids that are not UUIDs (no path traversal) and never overwrites', async () => {
    await expect(store.get('../../etc/passwd')).rejects.toMatchObject({ code: 'VAULT_BLOB_ID_INVALID' });
    const { id } = await store.put(Readable.from([Buffer.from('one')]));
    await expect(store.put(Readable.from([Buffer.from('two')]), { id })).rejects.toMatchObject({ code: 'VAULT_BLOB_EXISTS' });
    expect((await read(await store.get(id))).toString()).toBe('one');
    expect(filesUnder(store.dir)).toHaveLength(1); // the refused temp file is gone
  });

  it('leaves nothing behind when the source fails or the size limit is passed', async () => {
    async function* failing() {
      yield Buffer.alloc(1000);
      throw new Error('client went away');
    }
    await expect(store.put(failing())).rejects.toThrow('client went away');
    await expect(store.put(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 })).rejects.toMatchObject({
      code: 'VAULT_FILE_TOO_LARGE',
      status: 413,
    });
    expect(filesUnder(store.dir)).toEqual([]);
  });

  it('seals a file: round trip, hash and size, nothing of the plaintext in the blob', async () => {
    const canary = `canary-${randomUUID()}`;
    const pt = Buffer.concat([Buffer.from(canary), randomBytes(10_000), Buffer.from(canary)]);
    const stored = await files.put({ target, ref, source: Readable.from([pt]) });
    expect(stored).toMatchObject({ size: pt.length, sha256: createHash('sha256').update(pt).digest('hex') });
    const raw = readFileSync(filesUnder(store.dir)[0]!);
    expect(raw.includes(Buffer.from(canary))).toBe(false);
    expect(raw.length).toBe(stored.storedSize);
    const back = await read(await files.open({ ...stored, ref }));
    expect(back.equals(pt)).toBe(true);
  });

  it('a file opened under another record or field fails (wrapped key and stream are bound to it)', async () => {
    const stored = await files.put({ target, ref, source: Readable.from([Buffer.from('secret')]) });
    await expect(files.open({ ...stored, ref: { ...ref, recordId: randomUUID() } })).rejects.toMatchObject({ code: 'CRYPTO_DECRYPT_FAILED' });
    await expect(files.open({ ...stored, ref: { ...ref, field: 'other' } })).rejects.toMatchObject({ code: 'CRYPTO_DECRYPT_FAILED' });
    // Another file's content under this file's key: the stream's commitment refuses it before any byte.
    const other = await files.put({ target, ref, source: Readable.from([Buffer.from('another')]) });
    const swapped = await files.open({ ...stored, blobId: other.blobId, ref }).catch((e: unknown) => e);
    expect(swapped).toMatchObject({ code: 'CRYPTO_DECRYPT_FAILED' }); // the wrapped key names its blob
    // The other blob's bytes copied over this one on disk: the stream refuses them before yielding anything.
    const { copyFileSync } = await import('node:fs');
    const fileOf = (id: string) => filesUnder(store.dir).find((f) => path.basename(f) === id)!;
    copyFileSync(fileOf(other.blobId), fileOf(stored.blobId));
    await expect(read(await files.open({ ...stored, ref }))).rejects.toMatchObject({ code: 'VAULT_FILE_CORRUPT' });
  });

  it('an inspector in `through` aborts the put and keeps nothing', async () => {
    const inspector = createUploadInspector({ declaredType: 'application/pdf' });
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(100_000)]);
    await expect(files.put({ target, ref, source: Readable.from([elf]), through: [inspector] })).rejects.toMatchObject({
      code: 'VAULT_UPLOAD_EXECUTABLE',
    });
    await expect(files.put({ target, ref, source: Readable.from([randomBytes(2 * 1024 * 1024)]) })).rejects.toMatchObject({
      code: 'VAULT_FILE_TOO_LARGE',
    });
    expect(filesUnder(store.dir)).toEqual([]);
  });

  it('sweeps temporary files left by a crash, and old ones when the store opens', async () => {
    const { utimesSync, writeFileSync } = await import('node:fs');
    writeFileSync(path.join(store.dir, '.tmp', `${randomUUID()}.abcd`), 'partial');
    expect(await store.sweepTemp(-1)).toBe(1);
    expect(filesUnder(store.dir)).toEqual([]);
    const old = path.join(store.dir, '.tmp', `${randomUUID()}.old`);
    const fresh = path.join(store.dir, '.tmp', `${randomUUID()}.new`);
    writeFileSync(old, 'crashed put');
    writeFileSync(fresh, 'put in flight');
    utimesSync(old, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    await createLocalBlobStore({ dir: store.dir });
    expect(filesUnder(store.dir)).toEqual([fresh]);
  });
});
