import { OCSF, ACTIVITY, type AuditRecorder } from '../audit/index.js';
import type { RequestContext } from '../shared/context.js';
import { createError, isCustosError, type CustosError } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import { assertAllowed, assertPurpose, type Scope } from './access.js';
import type { Permission } from './permissions.js';

/**
 * Authorisation with its audit trail. Services call `assert` before any read
 * or write; a caller from another tenant gets 404 and leaves a `security`
 * event, and so does a tenant-scoped lookup that finds nothing (`scopeMiss`).
 */
export interface Guard {
  assert(ctx: RequestContext, permission: Permission, scope: Scope): Promise<void>;
  /** Records the probe and returns the 404 to throw. */
  scopeMiss(ctx: RequestContext, miss: { tenantId: string; type: string; id: string }): Promise<CustosError>;
  /** Personal data: the actor must hold `purpose` in `scope` (need to know, M66). */
  assertPurpose(ctx: RequestContext, purpose: string, scope: Scope): void;
  /**
   * Step-up for sensitive actions (role grants, key destruction, exports,
   * security settings): a user's session must have proved a second factor
   * within the configured minutes. API keys and system jobs are not asked.
   */
  requireRecentMfa(ctx: RequestContext): void;
}

export function createGuard(deps: { audit: AuditRecorder; clock?: Clock; stepUpMinutes?: number }): Guard {
  const stepUpMs = (deps.stepUpMinutes ?? 10) * 60_000;
  const probe = (ctx: RequestContext, tenantId: string, target: { type: string; id: string }, reason: string) =>
    deps.audit.recordAlone(ctx, {
      classUid: OCSF.API_ACTIVITY,
      activityId: ACTIVITY.READ,
      action: 'tenant.cross_tenant_probe',
      kind: 'security',
      outcome: 'failure',
      severity: 'medium',
      tenantId,
      target,
      details: { reason },
    });
  return {
    async assert(ctx, permission, scope) {
      try {
        assertAllowed(ctx.actor, permission, scope);
      } catch (e) {
        if (isCustosError(e) && e.extensions?.crossTenant && scope.tenantId) {
          await probe(ctx, scope.tenantId, { type: 'tenant', id: scope.tenantId }, 'actor belongs to another tenant');
          throw createError('NOT_FOUND', 'not found', 404);
        }
        throw e;
      }
    },
    async scopeMiss(ctx, miss) {
      await probe(ctx, miss.tenantId, { type: miss.type, id: miss.id }, 'object not found in the tenant scope');
      return createError('NOT_FOUND', `${miss.type} not found`, 404);
    },
    assertPurpose(ctx, purpose, scope) {
      assertPurpose(ctx.actor, purpose, scope);
    },
    requireRecentMfa(ctx) {
      const a = ctx.actor;
      if (a.type !== 'user') return;
      const now = (deps.clock?.now() ?? new Date()).getTime();
      if (!a.mfaAt || now - Date.parse(a.mfaAt) > stepUpMs) {
        throw createError('AUTH_STEP_UP_REQUIRED', `this action needs a second factor within the last ${stepUpMs / 60_000} minutes`, 403);
      }
    },
  };
}
