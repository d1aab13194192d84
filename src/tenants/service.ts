import type { Guard } from '../access/index.js';
import { ACTIVITY, OCSF, type AuditRecorder } from '../audit/index.js';
import type { Db, Tx } from '../db/index.js';
import type { IdempotencyService } from '../idempotency/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { newId } from '../shared/ids.js';
import { decodeCursor, encodeCursor, type Page } from '../shared/pagination.js';
import { tenantErrors } from './errors.js';
import { findTenant, insertTenant, listTenants, updateTenant, type TenantRow } from './store.js';
import { ALLOWED_TRANSITIONS, type Tenant, type TenantState } from './types.js';

export interface TenantService {
  create(ctx: RequestContext, input: { slug: string; name: string }): Promise<Tenant>;
  get(ctx: RequestContext, id: string): Promise<Tenant>;
  list(ctx: RequestContext, opts: { limit: number; cursor?: string | undefined; state?: TenantState | undefined }): Promise<Page<Tenant>>;
  update(ctx: RequestContext, id: string, patch: { name?: string | undefined; state?: TenantState | undefined }): Promise<Tenant>;
  /**
   * For other modules, inside their unit of work: the tenant must exist and be
   * active, or its data is unreachable (404 / 403 TENANT_NOT_ACTIVE).
   */
  requireActive(tx: Tx, tenantId: string): Promise<Tenant>;
}

export function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    state: row.state,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    stateChangedAt: row.state_changed_at,
  };
}

export function createTenantService(deps: {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  idempotency: IdempotencyService;
  clock: Clock;
}): TenantService {
  const { db, audit, guard, idempotency, clock } = deps;
  return {
    async create(ctx, input) {
      await guard.assert(ctx, 'tenants:create', {});
      const now = clock.now().toISOString();
      const row: TenantRow = {
        id: newId(),
        slug: input.slug,
        name: input.name,
        state: 'active',
        created_at: now,
        updated_at: now,
        state_changed_at: now,
      };
      try {
        return await db.write(async (tx) => {
          await insertTenant(tx, row);
          await audit.record(tx, ctx, {
            classUid: OCSF.ENTITY_MANAGEMENT,
            activityId: ACTIVITY.CREATE,
            action: 'tenant.create',
            kind: 'change',
            outcome: 'success',
            tenantId: row.id,
            target: { type: 'tenant', id: row.id },
          });
          const tenant = toTenant(row);
          await idempotency.remember(tx, ctx, 201, tenant);
          return tenant;
        });
      } catch (e) {
        if (db.adapter.isUniqueViolation(e)) throw tenantErrors.slugTaken(input.slug);
        throw e;
      }
    },

    async get(ctx, id) {
      await guard.assert(ctx, 'tenants:read', { tenantId: id });
      const row = await db.read((tx) => findTenant(tx, id));
      if (!row) throw tenantErrors.notFound();
      return toTenant(row);
    },

    async list(ctx, opts) {
      await guard.assert(ctx, 'tenants:read', {});
      const afterId = opts.cursor ? decodeCursor(opts.cursor, tenantErrors.badCursor) : undefined;
      const rows = await db.read((tx) => listTenants(tx, { afterId, limit: opts.limit + 1, state: opts.state }));
      const items = rows.slice(0, opts.limit).map(toTenant);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > opts.limit && last ? encodeCursor(last.id) : null };
    },

    async update(ctx, id, patch) {
      await guard.assert(ctx, 'tenants:update', { tenantId: id });
      return db.write(async (tx) => {
        const row = await findTenant(tx, id);
        if (!row) throw tenantErrors.notFound();
        const now = clock.now().toISOString();
        const next: Partial<TenantRow> = { updated_at: now };
        const changed: string[] = [];
        if (patch.name !== undefined && patch.name !== row.name) {
          next.name = patch.name;
          changed.push('name');
        }
        if (patch.state !== undefined && patch.state !== row.state) {
          if (!ALLOWED_TRANSITIONS[row.state].includes(patch.state)) throw tenantErrors.badTransition(row.state, patch.state);
          next.state = patch.state;
          next.state_changed_at = now;
          changed.push('state');
        }
        if (changed.length === 0) return toTenant(row);
        await updateTenant(tx, id, next);
        await audit.record(tx, ctx, {
          classUid: OCSF.ENTITY_MANAGEMENT,
          activityId: ACTIVITY.UPDATE,
          action: next.state ? `tenant.state.${next.state}` : 'tenant.update',
          kind: 'change',
          outcome: 'success',
          tenantId: id,
          target: { type: 'tenant', id },
          details: { fields: changed, ...(next.state ? { from: row.state, to: next.state } : {}) },
        });
        return toTenant({ ...row, ...next } as TenantRow);
      });
    },

    async requireActive(tx, tenantId) {
      const row = await findTenant(tx, tenantId);
      if (!row) throw tenantErrors.notFound();
      if (row.state !== 'active') throw tenantErrors.notActive(row.state);
      return toTenant(row);
    },
  };
}
