import type { RequestContext } from '../shared/context.js';
import type { Page } from '../shared/pagination.js';
import type { Readable } from 'node:stream';
import { collectionOps } from './collections.js';
import { fileOps, type FileDownload, type StoredFileInfo } from './files-ops.js';
import { VaultCore, type VaultDeps } from './core.js';
import { recordReadOps } from './reads.js';
import { recordWriteOps } from './records.js';
import type { Collection, CollectionVersion, Duplicate, ReadOptions, SubjectView, VaultRecord } from './types.js';

type PageOptions = { limit: number; cursor?: string | undefined };

/**
 * The personal-data vault (README.md). Every operation authorises first
 * (`collections:*`, `records:*`), reaches tenant data only through the
 * tenant scope, and audits inside the unit of work that changes something;
 * reads are audited with the fields requested and returned.
 */
export interface VaultService {
  createCollection(ctx: RequestContext, tenantId: string, name: string, schema: unknown): Promise<Collection>;
  listCollections(ctx: RequestContext, tenantId: string, opts: PageOptions): Promise<Page<Collection>>;
  getCollection(ctx: RequestContext, tenantId: string, name: string): Promise<Collection>;
  collectionVersions(ctx: RequestContext, tenantId: string, name: string): Promise<CollectionVersion[]>;
  /** New schema version; removed fields are erased from every record. */
  updateCollection(ctx: RequestContext, tenantId: string, name: string, schema: unknown): Promise<Collection>;
  deleteCollection(ctx: RequestContext, tenantId: string, name: string): Promise<void>;
  createRecord(ctx: RequestContext, tenantId: string, collection: string, fields: Record<string, unknown>): Promise<VaultRecord>;
  getRecord(ctx: RequestContext, tenantId: string, collection: string, id: string, opts: ReadOptions): Promise<VaultRecord>;
  listRecords(ctx: RequestContext, tenantId: string, collection: string, opts: ReadOptions & PageOptions): Promise<Page<VaultRecord>>;
  searchRecords(ctx: RequestContext, tenantId: string, collection: string, where: Record<string, unknown>, opts: ReadOptions & PageOptions): Promise<Page<VaultRecord>>;
  updateRecord(ctx: RequestContext, tenantId: string, collection: string, id: string, fields: Record<string, unknown>): Promise<VaultRecord>;
  deleteRecord(ctx: RequestContext, tenantId: string, collection: string, id: string): Promise<void>;
  duplicates(ctx: RequestContext, tenantId: string, collection: string, id: string): Promise<Duplicate[]>;
  subject(ctx: RequestContext, tenantId: string, subjectId: string, opts: ReadOptions): Promise<SubjectView>;
  /** Streams an upload through inspection (executables, scripts, type mismatch refused with a `security` event) and encryption. */
  putFile(ctx: RequestContext, tenantId: string, collection: string, recordId: string, field: string, upload: { source: Readable; declaredType: string }): Promise<StoredFileInfo>;
  getFile(ctx: RequestContext, tenantId: string, collection: string, recordId: string, field: string, reason: string | undefined): Promise<FileDownload>;
  deleteFile(ctx: RequestContext, tenantId: string, collection: string, recordId: string, field: string): Promise<void>;
}

export function createVaultService(deps: VaultDeps): VaultService {
  const core = new VaultCore(deps);
  const collections = collectionOps(core);
  const writes = recordWriteOps(core);
  const reads = recordReadOps(core);
  return {
    ...collections,
    ...fileOps(core),
    createRecord: writes.create,
    updateRecord: writes.update,
    deleteRecord: writes.remove,
    getRecord: reads.get,
    listRecords: reads.list,
    searchRecords: reads.search,
    duplicates: reads.duplicates,
    subject: reads.subject,
  };
}
