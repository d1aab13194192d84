import type { Purpose } from '../access/index.js';

/** Field types a collection schema may declare. */
export const FIELD_TYPES = ['string', 'email', 'phone', 'date', 'number', 'boolean', 'object', 'file'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Types whose normalised values can be blind-indexed (equality search, uniqueness). */
export const INDEXABLE_TYPES: ReadonlySet<FieldType> = new Set(['string', 'email', 'phone', 'date', 'number', 'boolean']);
/** Types a data-subject field may have. */
export const SUBJECT_TYPES: ReadonlySet<FieldType> = new Set(['string', 'email', 'phone']);

/** One field of a collection schema. */
export interface FieldDef {
  type: FieldType;
  /** Personal data: sealed under the data subject's DEK, read only for a declared purpose. */
  personal: boolean;
  /** Fides-style data category, e.g. `user.contact.email` (personal fields: `user.*`). */
  category?: string | undefined;
  required: boolean;
  unique: boolean;
  searchable: boolean;
  /** Purposes a personal field may be read for (empty for non-personal fields). */
  purposes: Purpose[];
  /** Phones: the region a number without a country code belongs to (ISO 3166-1 alpha-2). */
  region?: string | undefined;
  /** Strings: longest value in characters. */
  maxLength?: number | undefined;
  /** Files: largest content in bytes. */
  maxBytes?: number | undefined;
}

/** What a collection declares; versioned on every change. */
export interface CollectionSchema {
  fields: Record<string, FieldDef>;
  /** The field naming the data subject a record is about (personal, required). */
  subjectField: string;
  /** How long records are kept (enforced by the retention scheduler, a later issue). */
  retentionDays: number;
}

export interface Collection extends CollectionSchema {
  id: string;
  tenantId: string;
  name: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface CollectionVersion extends CollectionSchema {
  version: number;
  createdAt: string;
  createdBy: string;
}

/** The input to create or update a collection (defaults filled by validation). */
export interface CollectionInput {
  fields: Record<string, Partial<FieldDef> & { type: FieldType }>;
  subjectField: string;
  retentionDays: number;
}

export type FieldValue = string | number | boolean | Record<string, unknown> | FileRef;

/** What a file field shows (the content is read through the files route). */
export interface FileRef {
  fileId: string;
  mediaType: string;
  size: number;
}

/**
 * A record as a reader sees it: only the fields the reason and the caller's
 * purposes allow (`withheld` names the others that hold a value). `erased`:
 * the subject's key was crypto-shredded; nothing is readable any more.
 */
export interface VaultRecord {
  id: string;
  collection: string;
  subjectId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  erased: boolean;
  fields: Record<string, FieldValue>;
  withheld: string[];
}

/** How a read asks for fields. */
export interface ReadOptions {
  /** The purpose of the read (PURPOSES); without it no personal field is returned. */
  reason?: string | undefined;
  /** Fields wanted (default: every field of the schema). */
  fields?: string[] | undefined;
}

export interface Duplicate {
  recordId: string;
  subjectId: string;
  /** Fields whose normalised value (blind index) both records share. */
  matchedFields: string[];
}

export interface SubjectView {
  subjectId: string;
  records: VaultRecord[];
}
