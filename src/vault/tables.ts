/**
 * Row types of the vault tables (migration 0009-vault), merged into the one
 * `Database` interface so Kysely knows them without db/types.ts carrying this
 * module's columns. Only src/vault/store.ts queries them.
 */
export interface VaultCollectionsTable {
  tenant_id: string;
  id: string;
  name: string;
  version: number;
  /** JSON of the current CollectionSchema. */
  schema: string;
  created_at: string;
  updated_at: string;
}

export interface VaultCollectionVersionsTable {
  tenant_id: string;
  collection_id: string;
  version: number;
  schema: string;
  created_at: string;
  /** `type:id` of the actor who made this version. */
  created_by: string;
}

export interface VaultSubjectsTable {
  tenant_id: string;
  /** Blind index (tenant index key, `_subjects`) of a normalised subject-field value. */
  lookup: string;
  /** Opaque, random: the key store's ref for the subject DEK (never a personal value). */
  subject_id: string;
  created_at: string;
}

export interface VaultRecordsTable {
  tenant_id: string;
  id: string;
  collection_id: string;
  subject_id: string;
  /** Collection schema version of the last write. */
  version: number;
  /** JSON: field → base64 envelope. */
  sealed: string;
  /** JSON: field → value of non-personal fields (file fields: the vault_files id). */
  plain: string;
  created_at: string;
  updated_at: string;
}

export interface VaultIndexTable {
  tenant_id: string;
  collection_id: string;
  field: string;
  hmac: string;
  /** '' for unique fields (the primary key then refuses a duplicate), else the record id. */
  slot: string;
  record_id: string;
  subject_id: string;
}

export interface VaultFilesTable {
  tenant_id: string;
  id: string;
  collection_id: string;
  record_id: string;
  field: string;
  subject_id: string;
  blob_id: string;
  /** Envelope of the file's content key (sealed under the subject DEK). */
  wrapped_key: Uint8Array;
  sha256: string;
  size: number | string;
  media_type: string;
  created_at: string;
}

declare module '../db/types.js' {
  interface Database {
    vault_collections: VaultCollectionsTable;
    vault_collection_versions: VaultCollectionVersionsTable;
    vault_subjects: VaultSubjectsTable;
    vault_records: VaultRecordsTable;
    vault_index: VaultIndexTable;
    vault_files: VaultFilesTable;
  }
}
