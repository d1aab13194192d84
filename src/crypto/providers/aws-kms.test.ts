import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCustosError } from '../../shared/errors.js';
import { openAwsKmsProvider, type AwsKmsProviderOptions } from './aws-kms.js';
import { wrappedKeyInfo } from './blob.js';

/**
 * A local stand-in for AWS KMS speaking its JSON 1.1 protocol (POST /,
 * `X-Amz-Target: TrentService.<Op>`, base64 blobs, `__type` errors) for the
 * operations the provider uses. Ciphertext blobs are AES-256-GCM under
 * per-key material versions, with the encryption context as AAD.
 */
class FakeKms {
  readonly requests: { target: string; body: Record<string, unknown>; signed: boolean }[] = [];
  readonly keys = new Map<string, { arn: string; materials: Buffer[]; enabled: boolean; denied: boolean }>();
  #server: Server = createServer((req, res) => void this.#handle(req, res));

  addKey(opts: { enabled?: boolean; denied?: boolean } = {}): string {
    const id = randomUUID();
    const arn = `arn:aws:kms:eu-central-1:111122223333:key/${id}`;
    this.keys.set(id, { arn, materials: [randomBytes(32)], enabled: opts.enabled ?? true, denied: opts.denied ?? false });
    return id;
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    this.#server.closeAllConnections(); // the SDK keeps connections alive
    return closed;
  }

  #key(keyId: unknown): [string, { arn: string; materials: Buffer[]; enabled: boolean; denied: boolean }] {
    const id = String(keyId).replace(/^arn:aws:kms:[^:]+:\d+:key\//, '');
    const k = this.keys.get(id);
    if (k === undefined) throw Object.assign(new Error(`key ${String(keyId)} not found`), { type: 'NotFoundException' });
    if (k.denied) throw Object.assign(new Error('denied'), { type: 'AccessDeniedException' });
    return [id, k];
  }

  static #aad(ctx: unknown): Buffer {
    const entries = Object.entries((ctx ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1));
    return Buffer.from(JSON.stringify(entries));
  }

  #encrypt(keyId: unknown, plaintext: Buffer, ctx: unknown): { arn: string; blob: Buffer } {
    const [id, k] = this.#key(keyId);
    if (!k.enabled) throw Object.assign(new Error('disabled'), { type: 'DisabledException' });
    const m = k.materials.length - 1;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', k.materials[m]!, iv);
    c.setAAD(FakeKms.#aad(ctx));
    const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    return { arn: k.arn, blob: Buffer.concat([Buffer.from(id), Buffer.from([m]), iv, ct]) };
  }

  #decrypt(body: Record<string, unknown>): Record<string, unknown> {
    const blob = Buffer.from(String(body['CiphertextBlob']), 'base64');
    const invalid = Object.assign(new Error('invalid ciphertext'), { type: 'InvalidCiphertextException' });
    if (blob.length < 36 + 1 + 12 + 16) throw invalid;
    const [id, k] = this.#key(blob.subarray(0, 36).toString());
    if (body['KeyId'] !== undefined && this.#key(body['KeyId'])[0] !== id) {
      throw Object.assign(new Error('incorrect key'), { type: 'IncorrectKeyException' });
    }
    const material = k.materials[blob[36]!];
    if (material === undefined) throw invalid;
    const d = createDecipheriv('aes-256-gcm', material, blob.subarray(37, 49));
    d.setAAD(FakeKms.#aad(body['EncryptionContext']));
    d.setAuthTag(blob.subarray(blob.length - 16));
    try {
      const pt = Buffer.concat([d.update(blob.subarray(49, blob.length - 16)), d.final()]);
      return { KeyId: k.arn, Plaintext: pt.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      throw invalid;
    }
  }

  #dispatch(op: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (op) {
      case 'DescribeKey': {
        const [id, k] = this.#key(body['KeyId']);
        const KeyMetadata = { KeyId: id, Arn: k.arn, Enabled: k.enabled, KeyState: k.enabled ? 'Enabled' : 'Disabled' };
        return { KeyMetadata: { ...KeyMetadata, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' } };
      }
      case 'ListKeyRotations': {
        const [, k] = this.#key(body['KeyId']);
        const Rotations = k.materials.slice(1).map(() => ({ KeyId: k.arn, RotationDate: 1.7e9, RotationType: 'ON_DEMAND' }));
        return { Rotations, Truncated: false };
      }
      case 'RotateKeyOnDemand': {
        const [, k] = this.#key(body['KeyId']);
        k.materials.push(randomBytes(32));
        return { KeyId: k.arn };
      }
      case 'Encrypt': {
        const { arn, blob } = this.#encrypt(body['KeyId'], Buffer.from(String(body['Plaintext']), 'base64'), body['EncryptionContext']);
        return { KeyId: arn, CiphertextBlob: blob.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'GenerateDataKey': {
        const key = randomBytes(32);
        const { arn, blob } = this.#encrypt(body['KeyId'], key, body['EncryptionContext']);
        return { KeyId: arn, Plaintext: key.toString('base64'), CiphertextBlob: blob.toString('base64') };
      }
      case 'Decrypt':
        return this.#decrypt(body);
      default:
        throw Object.assign(new Error(`unknown operation ${op}`), { type: 'UnknownOperationException' });
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    const signed = String(req.headers['authorization'] ?? '').startsWith('AWS4-HMAC-SHA256 ');
    this.requests.push({ target, body, signed });
    const json = (status: number, doc: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(doc));
    };
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-amz-json-1.1' || !target.startsWith('TrentService.')) {
      json(400, { __type: 'UnknownOperationException', message: 'not a KMS JSON 1.1 request' });
      return;
    }
    try {
      json(200, this.#dispatch(target.slice('TrentService.'.length), body));
    } catch (e) {
      json(400, { __type: (e as { type?: string }).type ?? 'InternalFailure', message: (e as Error).message });
    }
  }
}

const fake = new FakeKms();
let endpoint = '';
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret-for-local-fake-kms' };
const opts = (keyId: string, extra: Partial<AwsKmsProviderOptions> = {}): AwsKmsProviderOptions => ({
  keyId,
  region: 'eu-central-1',
  endpoint,
  credentials: creds,
  maxAttempts: 1,
  ...extra,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isCustosError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a coded error');
}

describe('aws-kms provider (against a local fake KMS: AWS is unreachable here)', () => {
  beforeAll(async () => {
    endpoint = await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('wraps with Encrypt, unwraps with Decrypt, generates with GenerateDataKey; rotation keeps old blobs readable', async () => {
    const keyId = fake.addKey();
    const aad = Buffer.from('tenant-kek|t-1|v1');
    const p = await openAwsKmsProvider(opts(keyId));
    const k1 = randomBytes(32);
    const w1 = await p.wrap(k1, aad);
    expect(wrappedKeyInfo(w1)).toEqual({ kind: 'aws-kms', version: 1 });
    expect((await p.unwrap(w1, aad)).equals(k1)).toBe(true);
    await p.rotate();
    const g = await p.generateWrappedKey(aad);
    expect(g.key.length).toBe(32);
    expect(wrappedKeyInfo(g.wrapped).version).toBe(2);
    expect(p.describe()).toMatchObject({ kind: 'aws-kms', keyVersion: 2, versions: [1, 2] });
    await p.close();
    await expect(p.wrap(k1, aad)).rejects.toMatchObject({ code: 'KEY_PROVIDER_CLOSED' });

    const q = await openAwsKmsProvider(opts(keyId));
    expect(q.describe().keyVersion).toBe(2);
    expect((await q.unwrap(w1, aad)).equals(k1)).toBe(true);
    expect((await q.unwrap(g.wrapped, aad)).equals(g.key)).toBe(true);
    await q.close();
  });

  it('sends signed JSON 1.1 requests with the encryption context and pins KeyId on Decrypt', async () => {
    const keyId = fake.addKey();
    const p = await openAwsKmsProvider(opts(keyId));
    fake.requests.length = 0;
    const w = await p.wrap(randomBytes(32), Buffer.from('aad'));
    await p.unwrap(w, Buffer.from('aad'));
    await p.close();
    expect(fake.requests.map((r) => r.target)).toEqual(['TrentService.Encrypt', 'TrentService.Decrypt']);
    expect(fake.requests.every((r) => r.signed)).toBe(true);
    const [enc, dec] = fake.requests;
    expect(enc!.body['EncryptionContext']).toEqual({
      'custos:header': w.subarray(0, 6).toString('base64url'),
      'custos:aad': Buffer.from('aad').toString('base64url'),
    });
    expect(String(dec!.body['KeyId'])).toContain(keyId);
  });

  it('fails to unwrap with another AAD, a flipped bit, a relabelled version or a foreign key', async () => {
    const a = await openAwsKmsProvider(opts(fake.addKey()));
    const b = await openAwsKmsProvider(opts(fake.addKey()));
    const aad = Buffer.from('aad');
    const w = await a.wrap(randomBytes(32), aad);
    expect(await codeOf(a.unwrap(w, Buffer.from('other')))).toBe('KEY_UNWRAP_FAILED');
    const flipped = Buffer.from(w);
    flipped[flipped.length - 3]! ^= 1;
    expect(await codeOf(a.unwrap(flipped, aad))).toBe('KEY_UNWRAP_FAILED');
    const relabelled = Buffer.from(w);
    relabelled.writeUInt32BE(7, 2);
    expect(await codeOf(a.unwrap(relabelled, aad))).toBe('KEY_UNWRAP_FAILED');
    expect(await codeOf(b.unwrap(w, aad))).toBe('KEY_UNWRAP_FAILED');
    const local = Buffer.from(w);
    local[1] = 1;
    expect(await codeOf(a.unwrap(local, aad))).toBe('KEY_PROVIDER_MISMATCH');
    await a.close();
    await b.close();
  });

  it('maps unusable keys, denied access and an unreachable endpoint to clear errors', async () => {
    expect(await codeOf(openAwsKmsProvider(opts(fake.addKey({ enabled: false }))))).toBe('KEY_KMS_KEY_UNAVAILABLE');
    expect(await codeOf(openAwsKmsProvider(opts(randomUUID())))).toBe('KEY_KMS_KEY_UNAVAILABLE');
    expect(await codeOf(openAwsKmsProvider(opts(fake.addKey({ denied: true }))))).toBe('KEY_KMS_ACCESS_DENIED');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    try {
      await openAwsKmsProvider(opts(fake.addKey(), { endpoint: `http://127.0.0.1:${port}` }));
      throw new Error('opened');
    } catch (e) {
      expect(isCustosError(e) && e.code).toBe('KEY_KMS_UNAVAILABLE');
      expect(isCustosError(e) && e.status).toBe(503);
    }
    expect(await codeOf(openAwsKmsProvider({ keyId: '', region: 'eu-central-1' }))).toBe('KEY_PROVIDER_CONFIG');
  });
});
