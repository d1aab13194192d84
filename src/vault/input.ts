import type { Scalar } from './codec.js';
import { vaultErrors } from './errors.js';
import { normalise } from './normalise.js';
import type { CollectionSchema } from './types.js';

export interface PreparedValues {
  /** Normalised personal values (to seal). */
  personal: Record<string, Scalar>;
  /** Normalised non-personal values (stored plain). */
  plain: Record<string, Scalar>;
  /** Fields set to null (update: cleared). */
  cleared: string[];
}

/**
 * Checks a record body against the schema: unknown fields refused (named),
 * file fields refused (they are uploaded), every value validated and
 * normalised, required fields present (`create`) or not cleared (`update`).
 * Messages name fields, never values.
 */
export function prepareValues(collection: string, schema: CollectionSchema, input: Record<string, unknown>, mode: 'create' | 'update'): PreparedValues {
  const names = Object.keys(input);
  const unknown = names.filter((f) => !Object.hasOwn(schema.fields, f));
  if (unknown.length > 0) throw vaultErrors.fieldsNotInSchema(collection, unknown);
  const files = names.filter((f) => schema.fields[f]?.type === 'file');
  if (files.length > 0) throw vaultErrors.fileViaUpload(files);
  const out: PreparedValues = { personal: {}, plain: {}, cleared: [] };
  const errors: Array<{ path: string; message: string }> = [];
  for (const f of names) {
    const def = schema.fields[f];
    const v = input[f];
    if (!def) continue;
    if (v === null || v === undefined) {
      if (mode === 'update' && v === null) out.cleared.push(f);
      continue;
    }
    const n = normalise(v, def);
    if (!n.ok) errors.push({ path: `fields.${f}`, message: n.message });
    else (def.personal ? out.personal : out.plain)[f] = n.value;
  }
  if (errors.length > 0) throw vaultErrors.valuesInvalid(errors);
  const missing =
    mode === 'create'
      ? Object.entries(schema.fields).filter(([f, d]) => d.required && d.type !== 'file' && !(f in out.personal) && !(f in out.plain)).map(([f]) => f)
      : out.cleared.filter((f) => schema.fields[f]?.required);
  if (missing.length > 0) throw vaultErrors.requiredMissing(missing);
  return out;
}
