import { createError, type CustosError } from '../shared/errors.js';

type Issue = { path: string; message: string };

/**
 * Error codes of the vault. Messages name collections and fields, never a
 * value: a refused value may be personal data, and messages reach logs.
 */
export const vaultErrors = {
  schemaInvalid: (errors: Issue[]): CustosError =>
    createError('VAULT_SCHEMA_INVALID', `the collection schema is invalid: ${errors[0]?.path ?? ''} ${errors[0]?.message ?? ''}`.trim(), 400, { errors }),
  schemaChangeInvalid: (errors: Issue[]): CustosError =>
    createError('VAULT_SCHEMA_CHANGE_INVALID', `this schema change is not allowed: ${errors[0]?.path ?? ''} ${errors[0]?.message ?? ''}`.trim(), 409, { errors }),
  collectionExists: (name: string): CustosError => createError('VAULT_COLLECTION_EXISTS', `a collection named "${name}" already exists in this tenant`, 409),
  collectionNotEmpty: (name: string, n: number): CustosError =>
    createError('VAULT_COLLECTION_NOT_EMPTY', `collection "${name}" still holds ${n} record(s); delete them first`, 409),
  fieldsNotInSchema: (collection: string, fields: string[]): CustosError =>
    createError('VAULT_FIELD_NOT_IN_SCHEMA', `collection "${collection}" has no field ${fields.map((f) => `"${f}"`).join(', ')}`, 400, {
      errors: fields.map((f) => ({ path: `fields.${f}`, message: 'not in the collection schema' })),
    }),
  valuesInvalid: (errors: Issue[]): CustosError =>
    createError('VAULT_VALUE_INVALID', `invalid value for ${errors.map((e) => e.path).join(', ')}: ${errors[0]?.message ?? ''}`, 400, { errors }),
  requiredMissing: (fields: string[]): CustosError =>
    createError('VAULT_FIELD_REQUIRED', `required field(s) missing: ${fields.join(', ')}`, 400, {
      errors: fields.map((f) => ({ path: `fields.${f}`, message: 'required' })),
    }),
  duplicate: (collection: string, fields: string[]): CustosError =>
    createError('VAULT_DUPLICATE_VALUE', `collection "${collection}" already holds a record with the same ${fields.join(', ')} (unique)`, 409, {
      errors: fields.map((f) => ({ path: `fields.${f}`, message: 'already taken' })),
    }),
  notSearchable: (fields: string[]): CustosError =>
    createError('VAULT_FIELD_NOT_SEARCHABLE', `field(s) ${fields.join(', ')} are not declared searchable`, 400, {
      errors: fields.map((f) => ({ path: `where.${f}`, message: 'not searchable' })),
    }),
  fileViaUpload: (fields: string[]): CustosError =>
    createError('VAULT_FILE_FIELD_VIA_UPLOAD', `file field(s) ${fields.join(', ')} are set through PUT …/records/:recordId/files/:field`, 400),
  recordErased: (id: string): CustosError =>
    createError('VAULT_RECORD_ERASED', `record ${id} belongs to a data subject whose key was destroyed (crypto-shredded); its personal data is gone`, 410),
  collectionConflict: (name: string): CustosError => createError('VAULT_COLLECTION_CONFLICT', `collection "${name}" was changed concurrently; read it again and retry`, 409),
  conflict: (id: string): CustosError => createError('VAULT_RECORD_CONFLICT', `record ${id} kept changing while it was updated; try again`, 409),
  filesUnavailable: (): CustosError => createError('VAULT_FILES_UNAVAILABLE', 'this Custos has no blob store configured for file fields', 503),
  notAFileField: (collection: string, field: string): CustosError =>
    createError('VAULT_FIELD_NOT_FILE', `field "${field}" of collection "${collection}" is not a file field`, 400),
  fileNotFound: (field: string): CustosError => createError('VAULT_FILE_NOT_FOUND', `the record holds no file in field "${field}"`, 404),
  purposeNotDeclared: (field: string, reason: string | undefined): CustosError =>
    createError('VAULT_PURPOSE_NOT_DECLARED', reason ? `field "${field}" may not be read for ${reason}` : `reading field "${field}" needs a reason (purpose)`, 403),
  badCursor: (): CustosError => createError('PAGINATION_CURSOR_INVALID', 'the cursor is not one this API issued', 400),
};
