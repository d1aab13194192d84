import type { Readable } from 'node:stream';
import { ACTIVITY, OCSF } from '../audit/index.js';
import type { RequestContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { vaultEvent, type LoadedCollection, type VaultCore } from './core.js';
import { vaultErrors } from './errors.js';
import { createUploadInspector, uploadRefusal } from './files/index.js';
import * as store from './store.js';
import type { FieldDef, FileRef } from './types.js';

/** A stored file as the uploader sees it. */
export interface StoredFileInfo extends FileRef {
  sha256: string;
}

/** A download: the decrypted content (authenticated chunk by chunk) and how to serve it. */
export interface FileDownload {
  stream: Readable;
  mediaType: string;
  size: number;
}

function fileField(col: LoadedCollection, field: string): FieldDef {
  const def = col.schema.fields[field];
  if (!def) throw vaultErrors.fieldsNotInSchema(col.row.name, [field]);
  if (def.type !== 'file') throw vaultErrors.notAFileField(col.row.name, field);
  return def;
}

export function fileOps(core: VaultCore) {
  const { db, audit, guard } = core;

  /** Records a refused upload as a `security` event (what was found, never content or names), then rethrows. */
  async function refused(ctx: RequestContext, tenantId: string, col: LoadedCollection, recordId: string, field: string, e: unknown): Promise<never> {
    const r = uploadRefusal(e);
    if (r) {
      await audit.recordAlone(ctx, {
        classUid: OCSF.API_ACTIVITY,
        activityId: ACTIVITY.CREATE,
        action: 'vault.file.refused',
        kind: 'security',
        outcome: 'failure',
        severity: r.reason === 'executable' || r.reason === 'archive-unsafe' ? 'high' : 'medium',
        tenantId,
        target: { type: 'record', id: recordId },
        details: { collection: col.row.name, field, code: r.code, reason: r.reason, detected: r.detected },
      });
    }
    throw e;
  }

  return {
    /** Streams an upload through inspection and encryption into the blob store, then points the field at it (replacing any earlier file). */
    async putFile(ctx: RequestContext, tenantId: string, name: string, recordId: string, field: string, upload: { source: Readable; declaredType: string }): Promise<StoredFileInfo> {
      await guard.assert(ctx, 'records:write', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      const def = fileField(col, field);
      const row = await core.record(ctx, tenantId, col, recordId);
      const files = await core.files();
      const inspector = createUploadInspector({ declaredType: upload.declaredType });
      const ref = { tenantId, collection: name, recordId, field };
      let stored;
      try {
        stored = await files.put({ target: { tenantId, subjectId: row.subject_id }, ref, source: upload.source, through: [inspector], maxBytes: Math.min(def.maxBytes ?? core.maxFileBytes, core.maxFileBytes), actx: ctx });
      } catch (e) {
        if (isCustosError(e) && e.code === 'KEY_DESTROYED') throw vaultErrors.recordErased(recordId);
        return refused(ctx, tenantId, col, recordId, field, e);
      }
      const mediaType = inspector.verdict().type;
      const now = core.now();
      const id = newId();
      const info: StoredFileInfo = { fileId: id, mediaType, size: stored.size, sha256: stored.sha256 };
      try {
        const old = await db.write(async (tx) => {
          const s = await core.scope(tx, tenantId);
          const cur = await store.findRecord(s, col.row.id, recordId);
          if (!cur) throw await guard.scopeMiss(ctx, { tenantId, type: 'record', id: recordId });
          const prev = await store.findFile(s, recordId, field);
          const fileRow = { id, collection_id: col.row.id, record_id: recordId, field, subject_id: cur.subject_id, blob_id: stored.blobId, wrapped_key: stored.wrappedKey, sha256: stored.sha256, size: stored.size, media_type: mediaType, created_at: now };
          await store.setFile(s, cur, field, fileRow, { fileId: id, mediaType, size: stored.size }, now);
          await audit.record(tx, ctx, vaultEvent('vault.file.put', ACTIVITY.CREATE, tenantId, { type: 'record', id: recordId }, { collection: name, field, fileId: id, size: stored.size, mediaType, replaced: prev?.id ?? null }));
          return prev;
        });
        await core.dropBlobs(old ? [old.blob_id] : []);
        return info;
      } catch (e) {
        await files.delete(stored.blobId).catch(() => false);
        throw e;
      }
    },

    /** The decrypted file for a reason the caller holds and the field allows (403 otherwise); the read is audited first. */
    async getFile(ctx: RequestContext, tenantId: string, name: string, recordId: string, field: string, reason: string | undefined): Promise<FileDownload> {
      await guard.assert(ctx, 'records:read', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      const def = fileField(col, field);
      if (def.personal) {
        if (!reason || !(def.purposes as readonly string[]).includes(reason)) throw vaultErrors.purposeNotDeclared(field, reason);
        guard.assertPurpose(ctx, reason, { tenantId });
      }
      const row = await core.record(ctx, tenantId, col, recordId);
      const file = await db.read(async (tx) => store.findFile(await core.scope(tx, tenantId), recordId, field));
      if (!file) throw vaultErrors.fileNotFound(field);
      const files = await core.files();
      let stream: Readable;
      try {
        stream = await files.open({ blobId: file.blob_id, wrappedKey: Buffer.from(file.wrapped_key), ref: { tenantId, collection: name, recordId, field }, sha256: file.sha256, size: Number(file.size) });
      } catch (e) {
        if (isCustosError(e) && e.code === 'KEY_DESTROYED') throw vaultErrors.recordErased(recordId);
        throw e;
      }
      try {
        const details = { collection: name, reason: reason ?? null, requested: [field], returned: [field], records: [recordId], subjectId: row.subject_id, fileId: file.id };
        await db.write((tx) => audit.record(tx, ctx, vaultEvent('vault.file.read', ACTIVITY.READ, tenantId, { type: 'record', id: recordId }, details)));
      } catch (e) {
        stream.destroy();
        throw e;
      }
      return { stream, mediaType: file.media_type, size: Number(file.size) };
    },

    async deleteFile(ctx: RequestContext, tenantId: string, name: string, recordId: string, field: string): Promise<void> {
      await guard.assert(ctx, 'records:write', { tenantId });
      const col = await core.collection(ctx, tenantId, name);
      fileField(col, field);
      const gone = await db.write(async (tx) => {
        const s = await core.scope(tx, tenantId);
        const cur = await store.findRecord(s, col.row.id, recordId);
        if (!cur) throw await guard.scopeMiss(ctx, { tenantId, type: 'record', id: recordId });
        const prev = await store.findFile(s, recordId, field);
        if (!prev) throw vaultErrors.fileNotFound(field);
        await store.setFile(s, cur, field, null, null, core.now());
        await audit.record(tx, ctx, vaultEvent('vault.file.delete', ACTIVITY.DELETE, tenantId, { type: 'record', id: recordId }, { collection: name, field, fileId: prev.id }));
        return prev;
      });
      await core.dropBlobs([gone.blob_id]);
    },
  };
}
