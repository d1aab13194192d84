import { createHmac } from 'node:crypto';
import type { Guard } from '../access/index.js';
import { ACTIVITY, OCSF, type AuditEventInput, type AuditRecorder } from '../audit/index.js';
import { scopeTenant, type Db, type Tx } from '../db/index.js';
import type { IdempotencyService } from '../idempotency/index.js';
import type { Keyring } from '../keys/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { decodeCursor, encodeCursor, type Page } from '../shared/pagination.js';
import type { TenantService } from '../tenants/index.js';
import { integrationErrors } from './errors.js';
import { openSecrets, sealSecrets, wipeSecret } from './secrets.js';
import { deleteIntegration, findIntegration, insertIntegration, listIntegrations, touchIntegration, type IntegrationRow } from './store.js';
import type { CreateIntegrationInput, Integration, IntegrationKind, IntegrationSecret, SignedPayload } from './types.js';

export interface IntegrationService {
  create(ctx: RequestContext, tenantId: string, input: CreateIntegrationInput): Promise<Integration>;
  list(ctx: RequestContext, tenantId: string, opts: { limit: number; cursor?: string | undefined }): Promise<Page<Integration>>;
  get(ctx: RequestContext, tenantId: string, id: string): Promise<Integration>;
  remove(ctx: RequestContext, tenantId: string, id: string): Promise<void>;
  /**
   * The one way to a decrypted secret, for server-side code: authorises
   * `integrations:use`, audits the use (naming `use`) before decrypting is
   * handed out, runs `fn`, then zeroes the secret. Never return it from `fn`.
   */
  withSecret<T>(ctx: RequestContext, tenantId: string, id: string, use: string, fn: (secret: IntegrationSecret) => Promise<T> | T): Promise<T>;
  /** Signs `payload` with the integration's webhook secret (a verifiable server-side use). */
  sign(ctx: RequestContext, tenantId: string, id: string, payload: string, timestamp?: number): Promise<SignedPayload>;
}

export interface IntegrationDeps {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  idempotency: IdempotencyService;
  clock: Clock;
  keys: Keyring;
  tenants: Pick<TenantService, 'requireActive'>;
}

export function toIntegration(row: IntegrationRow): Integration {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    name: row.name,
    provider: row.provider,
    scopes: JSON.parse(row.scopes) as string[],
    expiresAt: row.expires_at,
    subjectId: row.subject_id,
    fingerprint: row.fingerprint,
    hasRefreshToken: row.refresh_secret !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at,
  };
}

function event(action: string, activityId: number, tenantId: string, id: string, details: AuditEventInput['details'] = {}): AuditEventInput {
  const access = action === 'integration.secret.use';
  return {
    classUid: access ? OCSF.API_ACTIVITY : OCSF.ENTITY_MANAGEMENT,
    activityId,
    action,
    kind: access ? 'access' : 'change',
    outcome: 'success',
    tenantId,
    target: { type: 'integration', id },
    details,
  };
}

export function createIntegrationService(deps: IntegrationDeps): IntegrationService {
  const { db, audit, guard, idempotency, clock, keys, tenants } = deps;
  const scope = async (tx: Tx, tenantId: string) => {
    await tenants.requireActive(tx, tenantId);
    return scopeTenant(db.adapter, tx, tenantId);
  };
  /** The row, or the 404 (with its security event) for an id that is not in this tenant. */
  async function row(ctx: RequestContext, tenantId: string, id: string): Promise<IntegrationRow> {
    const found = await db.read(async (tx) => findIntegration(await scope(tx, tenantId), id));
    if (!found) throw await guard.scopeMiss(ctx, { tenantId, type: 'integration', id });
    return found;
  }

  async function withSecret<T>(
    ctx: RequestContext,
    tenantId: string,
    id: string,
    use: string,
    fn: (secret: IntegrationSecret) => Promise<T> | T,
    need?: IntegrationKind,
  ): Promise<T> {
    await guard.assert(ctx, 'integrations:use', { tenantId });
    const found = await row(ctx, tenantId, id);
    if (need && found.kind !== need) throw integrationErrors.kindMismatch(found.kind, need);
    let secret: IntegrationSecret;
    try {
      secret = await openSecrets(keys, found);
    } catch (e) {
      const code = isCustosError(e) ? e.code : 'INTERNAL';
      await audit.recordAlone(ctx, { ...event('integration.secret.use', ACTIVITY.OTHER, tenantId, id, { use, code }), outcome: 'failure' });
      throw e;
    }
    try {
      // The use is audited (and last_used_at set) before the secret is handed out.
      const still = await db.write(async (tx) => {
        if (!(await touchIntegration(await scope(tx, tenantId), id, clock.now().toISOString()))) return false;
        await audit.record(tx, ctx, event('integration.secret.use', ACTIVITY.OTHER, tenantId, id, { use, kind: found.kind, provider: found.provider }));
        return true;
      });
      if (!still) throw await guard.scopeMiss(ctx, { tenantId, type: 'integration', id });
      return await fn(secret);
    } finally {
      wipeSecret(secret);
    }
  }

  return {
    async create(ctx, tenantId, input) {
      await guard.assert(ctx, 'integrations:write', { tenantId });
      await db.read((tx) => tenants.requireActive(tx, tenantId));
      const id = newId();
      const sealed = await sealSecrets(keys, ctx, tenantId, id, input);
      const now = clock.now().toISOString();
      const r: Omit<IntegrationRow, 'tenant_id'> = {
        id,
        kind: input.kind,
        name: input.name,
        provider: input.provider,
        ...sealed,
        scopes: JSON.stringify(input.kind === 'oauth' ? input.scopes : []),
        expires_at: input.kind === 'oauth' && input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
        subject_id: input.subjectId ?? null,
        created_at: now,
        updated_at: now,
        last_used_at: null,
      };
      const fields = input.kind === 'oauth' ? ['access_token', ...(input.refreshToken !== undefined ? ['refresh_token'] : [])] : ['webhook_secret'];
      try {
        return await db.write(async (tx) => {
          await insertIntegration(await scope(tx, tenantId), r);
          const details = { kind: input.kind, provider: input.provider, fields, ...(input.subjectId ? { subjectId: input.subjectId } : {}) };
          await audit.record(tx, ctx, event('integration.create', ACTIVITY.CREATE, tenantId, id, details));
          const out = toIntegration({ ...r, tenant_id: tenantId });
          await idempotency.remember(tx, ctx, 201, out);
          return out;
        });
      } catch (e) {
        if (db.adapter.isUniqueViolation(e)) throw integrationErrors.nameTaken(input.name);
        throw e;
      }
    },

    async list(ctx, tenantId, opts) {
      await guard.assert(ctx, 'integrations:read', { tenantId });
      const afterId = opts.cursor ? decodeCursor(opts.cursor, integrationErrors.badCursor) : undefined;
      const rows = await db.read(async (tx) => listIntegrations(await scope(tx, tenantId), { afterId, limit: opts.limit + 1 }));
      const items = rows.slice(0, opts.limit).map(toIntegration);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > opts.limit && last ? encodeCursor(last.id) : null };
    },

    async get(ctx, tenantId, id) {
      await guard.assert(ctx, 'integrations:read', { tenantId });
      return toIntegration(await row(ctx, tenantId, id));
    },

    async remove(ctx, tenantId, id) {
      await guard.assert(ctx, 'integrations:write', { tenantId });
      const gone = await db.write(async (tx) => {
        if (!(await deleteIntegration(await scope(tx, tenantId), id))) return false;
        await audit.record(tx, ctx, event('integration.delete', ACTIVITY.DELETE, tenantId, id));
        return true;
      });
      if (!gone) throw await guard.scopeMiss(ctx, { tenantId, type: 'integration', id });
    },

    withSecret: (ctx, tenantId, id, use, fn) => withSecret(ctx, tenantId, id, use, fn),

    async sign(ctx, tenantId, id, payload, timestamp) {
      const t = timestamp ?? Math.floor(clock.now().getTime() / 1000);
      return withSecret(
        ctx,
        tenantId,
        id,
        'sign',
        (s) => {
          const signature = createHmac('sha256', s.webhookSecret as Buffer).update(`${t}.${payload}`, 'utf8').digest('hex');
          return { algorithm: 'hmac-sha256' as const, timestamp: t, signature, header: `t=${t},v1=${signature}` };
        },
        'webhook',
      );
    },
  };
}
