import type { EncryptionContext } from '../crypto/index.js';
import type { Keyring } from '../keys/index.js';
import type { RequestContext } from '../shared/context.js';
import { indexText } from './normalise.js';
import type { CollectionSchema } from './types.js';

/** Format version of sealed vault fields, bound into every envelope's AAD. */
export const FORMAT = 'vault/v1';
/** Blind-index "collection" of the subject lookup: no collection name can take it (names start with a letter). */
const SUBJECTS = '_subjects';

export type Scalar = string | number | boolean | Record<string, unknown>;

/** AAD of one field: tenant, format version + collection, record, field. A ciphertext moved elsewhere fails to open. */
export function fieldContext(tenantId: string, collection: string, recordId: string, field: string): EncryptionContext {
  return { tenantId, purpose: `${FORMAT}/${collection}`, objectId: recordId, field };
}

/**
 * Seals each value under the subject's DEK, concurrently; returns field → base64 envelope. The
 * subject's key must exist (a new subject's id comes from keys.allocateSubject, key made).
 * Call outside any unit of work (the keyring runs its own).
 */
export async function sealFields(
  keys: Keyring,
  target: { tenantId: string; subjectId: string },
  collection: string,
  recordId: string,
  values: Record<string, Scalar>,
  actx: RequestContext,
): Promise<Record<string, string>> {
  const names = Object.keys(values);
  const sealed = await Promise.all(
    names.map((f) => keys.seal(target, Buffer.from(JSON.stringify(values[f]), 'utf8'), fieldContext(target.tenantId, collection, recordId, f), actx)),
  );
  const out: Record<string, string> = {};
  names.forEach((f, i) => (out[f] = (sealed[i] as Buffer).toString('base64')));
  return out;
}

/** Opens the named fields (KEY_DESTROYED when the subject was crypto-shredded). */
export async function openFields(keys: Keyring, tenantId: string, collection: string, recordId: string, sealed: Record<string, string>, names: string[]): Promise<Record<string, Scalar>> {
  const opened = await Promise.all(names.map((f) => keys.open(Buffer.from(sealed[f] ?? '', 'base64'), fieldContext(tenantId, collection, recordId, f))));
  const out: Record<string, Scalar> = {};
  names.forEach((f, i) => {
    const buf = opened[i] as Buffer;
    out[f] = JSON.parse(buf.toString('utf8')) as Scalar;
    buf.fill(0);
  });
  return out;
}

/** Blind indexes of the indexed fields among `values` (per tenant, collection and field keys). */
export async function indexFields(
  keys: Keyring,
  tenantId: string,
  collection: string,
  schema: CollectionSchema,
  values: Record<string, Scalar>,
  actx: RequestContext,
): Promise<Array<{ field: string; hmac: string; unique: boolean }>> {
  const names = Object.keys(values).filter((f) => schema.fields[f]?.searchable);
  const hmacs = await Promise.all(
    names.map((f) => {
      const def = schema.fields[f];
      return def ? keys.blindIndex(tenantId, collection, f, indexText(def, values[f] as Scalar), actx) : '';
    }),
  );
  return names.map((f, i) => ({ field: f, hmac: hmacs[i] as string, unique: schema.fields[f]?.unique === true }));
}

/** The tenant-wide lookup of a data subject by the normalised value of a subject field. */
export function subjectLookup(keys: Keyring, tenantId: string, value: string, actx: RequestContext): Promise<string> {
  return keys.blindIndex(tenantId, SUBJECTS, 'value', value, actx);
}
