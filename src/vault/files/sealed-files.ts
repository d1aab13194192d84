import { randomBytes } from 'node:crypto';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { encodeContext, type EncryptionContext } from '../../crypto/index.js';
import type { Keyring, SealTarget } from '../../keys/index.js';
import type { RequestContext } from '../../shared/context.js';
import { newBlobId, type BlobStore } from './blob-store.js';
import { createOpenStream, createSealStream, DEFAULT_CHUNK_SIZE } from './stream.js';

/** Where a file belongs: the record field that holds it. */
export interface FileRef {
  tenantId: string;
  collection: string;
  recordId: string;
  field: string;
}

/** What put returns: everything the vault_files row needs. */
export interface StoredFile {
  blobId: string;
  /** The file's content key, sealed by the keyring under the subject's DEK (store it with the row). */
  wrappedKey: Buffer;
  /** SHA-256 of the plaintext, lower-case hex. */
  sha256: string;
  /** Plaintext bytes. */
  size: number;
  /** Bytes in the blob store. */
  storedSize: number;
}

/** Arguments of FileVault.put. */
export interface PutFileInput {
  /** Whose key seals the content key: the tenant and the data subject. */
  target: SealTarget;
  ref: FileRef;
  source: Readable | AsyncIterable<Uint8Array>;
  /** Transforms run on the plaintext before sealing (e.g. createUploadInspector); an error in one aborts the put and keeps nothing. */
  through?: Transform[];
  /** Plaintext size limit (default the vault's). */
  maxBytes?: number;
  actx?: RequestContext;
}

/** Arguments of FileVault.open: the row's values. */
export interface OpenFileInput {
  blobId: string;
  wrappedKey: Buffer;
  ref: FileRef;
  /** When given, checked at the end of the stream (VAULT_FILE_CORRUPT on a difference). */
  sha256?: string;
  size?: number;
}

/** Encrypted files: a blob store plus the keyring. */
export interface FileVault {
  /**
   * Streams `source` through `through`, seals it under a fresh per-file key and
   * stores it. Call it outside any db unit of work (the keyring runs its own);
   * if the row cannot be written afterwards, delete(blobId).
   */
  put(input: PutFileInput): Promise<StoredFile>;
  /** The plaintext as a stream that errors at the first unauthentic chunk; KEY_DESTROYED when the subject was crypto-shredded. */
  open(input: OpenFileInput): Promise<Readable>;
  delete(blobId: string): Promise<boolean>;
}

/** Options of createFileVault. */
export interface FileVaultDeps {
  keyring: Pick<Keyring, 'seal' | 'open'>;
  store: BlobStore;
  /** Default plaintext size limit in bytes. */
  maxBytes: number;
  chunkSize?: number;
}

/**
 * The encryption context of a file's content key and content stream:
 * purpose = collection, objectId = record, field = `file:<field>:<blobId>`
 * (the blob id is a fixed-length UUID at the end, so this is injective and
 * never equals a plain field's context).
 */
export function fileContext(ref: FileRef, blobId: string): EncryptionContext {
  return { tenantId: ref.tenantId, purpose: ref.collection, objectId: ref.recordId, field: `file:${ref.field}:${blobId}` };
}

/** Chains streams with error propagation: an error anywhere destroys the returned stream with it. */
function chain(source: Readable | AsyncIterable<Uint8Array>, steps: Transform[]): Readable {
  const streams = [source, ...steps] as unknown as [Readable, ...Transform[]];
  // pipeline's callback only swallows the duplicate report; the last stream carries the error to its reader.
  return pipeline(streams, () => undefined) as unknown as Readable;
}

/** Creates the encrypted file layer (see README.md for the format and invariants). */
export function createFileVault(deps: FileVaultDeps): FileVault {
  const chunkSize = deps.chunkSize ?? DEFAULT_CHUNK_SIZE;

  async function put(input: PutFileInput): Promise<StoredFile> {
    const blobId = newBlobId();
    const ctx = fileContext(input.ref, blobId);
    const key = randomBytes(32);
    try {
      const wrappedKey = await deps.keyring.seal(input.target, key, ctx, input.actx);
      const sealer = createSealStream(key, encodeContext(ctx), { chunkSize, maxBytes: input.maxBytes ?? deps.maxBytes });
      key.fill(0);
      const sealed = chain(input.source, [...(input.through ?? []), sealer]);
      const { bytes } = await deps.store.put(sealed, { id: blobId });
      const { sha256, size } = sealer.summary();
      return { blobId, wrappedKey, sha256, size, storedSize: bytes };
    } finally {
      key.fill(0);
    }
  }

  async function open(input: OpenFileInput): Promise<Readable> {
    const ctx = fileContext(input.ref, input.blobId);
    const key = await deps.keyring.open(input.wrappedKey, ctx);
    try {
      const opener = createOpenStream(key, encodeContext(ctx), { expectedSha256: input.sha256, expectedSize: input.size });
      return chain(await deps.store.get(input.blobId), [opener]);
    } finally {
      key.fill(0);
    }
  }

  return { put, open, delete: (blobId) => deps.store.delete(blobId) };
}
