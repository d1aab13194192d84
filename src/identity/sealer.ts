import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { blindIndex, deriveIndexKey, hkdfSha256, open, prepareKey, seal, type EncryptionContext } from '../crypto/index.js';

/** Where a sealed identity secret belongs: tenant (or "_platform"), collection, record, field. */
export type SealContext = EncryptionContext;

/**
 * What identity needs from the key ring: seal/open small secrets (TOTP
 * secrets, emails, names) bound to their row, and a blind index for email
 * lookups. main.ts wires it; the keys module's platform DEK replaces the
 * file-key implementation below without identity changing.
 */
export interface SecretSealer {
  seal(ctx: SealContext, plaintext: Buffer): Promise<Buffer>;
  open(ctx: SealContext, envelope: Uint8Array): Promise<Buffer>;
  /** Equality index of a normalised value (per collection and field). */
  index(collection: string, field: string, value: string): Promise<string>;
}

/** The part of the keys module's keyring identity uses (src/keys: platform DEK and platform index key). */
export interface PlatformKeyring {
  seal(target: { tenantId: string }, plaintext: Buffer, ctx: SealContext): Promise<Buffer>;
  open(envelope: Buffer, ctx: SealContext): Promise<Buffer>;
  blindIndex(tenantId: string, collection: string, field: string, value: string): Promise<string>;
}

/**
 * The production sealer: identity secrets under the keyring's platform DEK
 * (wrapped by the root key, kept in the key store), blind indexes under the
 * platform index key. The seal context's tenantId must be "_platform".
 */
export function createKeyringSealer(keys: PlatformKeyring): SecretSealer {
  const PLATFORM = '_platform';
  return {
    seal: (ctx, plaintext) => keys.seal({ tenantId: PLATFORM }, plaintext, { ...ctx, tenantId: PLATFORM }),
    open: (ctx, envelope) => keys.open(Buffer.from(envelope), { ...ctx, tenantId: PLATFORM }),
    index: (collection, field, value) => keys.blindIndex(PLATFORM, collection, field, value),
  };
}

const KEY_ID = '01900000-0000-7000-8000-000000000006';

/**
 * Interim sealer: a 32-byte key in `<dataDir>/identity.key` (0600), created
 * once. Encryption and index keys are derived from it by HKDF. Replace with
 * the keys module's platform DEK when it lands (see README).
 */
export function createFileSealer(dataDir: string): SecretSealer {
  const file = path.join(dataDir, 'identity.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  }
  const root = readFileSync(file);
  const key = prepareKey(KEY_ID, hkdfSha256(root, Buffer.alloc(0), 'custos/identity/enc', 32));
  const indexRoot = hkdfSha256(root, Buffer.alloc(0), 'custos/identity/index', 32);
  root.fill(0);
  return {
    seal: async (ctx, plaintext) => seal(key, plaintext, ctx),
    open: async (ctx, envelope) => open(key, Buffer.from(envelope), ctx),
    index: async (collection, field, value) => blindIndex(deriveIndexKey(indexRoot, collection, field), value),
  };
}
