import { OCSF, type AuditEventInput, type AuditRecorder } from '../audit/index.js';
import type { Db, Tx } from '../db/index.js';
import type { Clock } from '../shared/clock.js';
import type { Actor, RequestContext } from '../shared/context.js';
import { createError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Guard } from './guard.js';
import { BUILTIN_ROLES, isPermission, isPurpose, isTenantPermission } from './permissions.js';
import * as store from './store.js';
import type { AccessRequestRow, View } from './store.js';

/** Seals the free-text reason (identity's SecretSealer fits). */
export interface ReasonSealer {
  seal(ctx: { tenantId: string; purpose: string; objectId: string; field: string }, plaintext: Buffer): Promise<Buffer>;
  open(ctx: { tenantId: string; purpose: string; objectId: string; field: string }, envelope: Uint8Array): Promise<Buffer>;
}

export interface AccessRequest {
  id: string;
  accountId: string;
  tenantId: string | null;
  role: string;
  purposes: string[];
  reason: string;
  minutes: number;
  status: 'pending' | 'approved' | 'denied' | 'revoked' | 'expired';
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  expiresAt: string | null;
  endedAt: string | null;
}

export interface NewAccessRequest {
  tenantId?: string | null | undefined;
  role: string;
  purposes?: string[] | undefined;
  minutes: number;
  reason: string;
}

type Grant = NonNullable<Extract<Actor, { type: 'user' }>['grants']>[number];

export const accessErrors = {
  notPerson: () => createError('ACCESS_DENIED', 'only signed-in people request or decide access', 403),
  invalid: (why: string) => createError('ACCESS_REQUEST_INVALID', why, 422),
  notFound: () => createError('ACCESS_REQUEST_NOT_FOUND', 'access request not found', 404),
  selfApproval: () => createError('ACCESS_REQUEST_SELF_APPROVAL', 'an access request must be decided by someone other than its requester', 403),
  notPending: (status: string) => createError('ACCESS_REQUEST_NOT_PENDING', `the access request is ${status}, not pending`, 409),
  notActive: () => createError('ACCESS_REQUEST_NOT_ACTIVE', 'the grant is not active', 409),
};

/** The grant an approved request gives: a role's permissions and purposes, or one permission; plus the purposes asked for. */
export function grantOf(row: Pick<AccessRequestRow, 'tenant_id' | 'role' | 'purposes' | 'expires_at'>): Grant {
  const def = BUILTIN_ROLES[row.role];
  const asked = JSON.parse(row.purposes) as string[];
  return {
    tenantId: row.tenant_id,
    permissions: def?.permissions ?? [row.role],
    purposes: [...new Set([...(def?.purposes ?? []), ...asked])],
    expiresAt: row.expires_at ?? '',
  };
}

/** The live grants of an account at `now`, for authentication: an expired grant is never returned, swept or not. */
export async function activeGrants(tx: Tx, accountId: string, now: string): Promise<Grant[]> {
  return (await store.liveGrants(tx, accountId, now)).map(grantOf);
}

/** What may be asked for in a scope: a role of that realm, or a permission of that realm; purposes only inside a tenant. */
function checkAsk(actor: Extract<Actor, { type: 'user' }>, input: NewAccessRequest): void {
  const tenantScope = Boolean(input.tenantId);
  if (actor.tenantId && input.tenantId !== actor.tenantId) throw accessErrors.invalid('tenant members ask for access in their own tenant only');
  const def = BUILTIN_ROLES[input.role];
  const realmOk = def ? (def.realm === 'tenant') === tenantScope : isPermission(input.role) && isTenantPermission(input.role) === tenantScope;
  if (!realmOk) throw accessErrors.invalid(`${input.role} cannot be granted in the ${tenantScope ? 'tenant' : 'platform'} scope`);
  for (const p of input.purposes ?? []) if (!isPurpose(p)) throw accessErrors.invalid(`unknown purpose ${p}`);
  if (!tenantScope && (input.purposes ?? []).length) throw accessErrors.invalid('purposes are granted inside one tenant only');
}

const sealCtx = (id: string) => ({ tenantId: '_platform', purpose: 'access_requests', objectId: id, field: 'reason' });

/** OCSF User Access Management (3005): 1 assign privileges, 2 revoke privileges, 99 other (request, denial). */
function event(action: string, row: AccessRequestRow, activityId: number, details: Record<string, string | number | null> = {}): AuditEventInput {
  return {
    classUid: OCSF.USER_ACCESS_MANAGEMENT,
    activityId,
    action,
    kind: 'security',
    outcome: 'success',
    severity: activityId === 1 ? 'medium' : 'low',
    tenantId: row.tenant_id,
    target: { type: 'access_request', id: row.id },
    details: { requester: row.account_id, role: row.role, purposes: row.purposes, minutes: row.duration_minutes, ...details },
  };
}

export interface AccessRequestDeps {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  clock: Clock;
  sealer: ReasonSealer;
}

function person(ctx: RequestContext): Extract<Actor, { type: 'user' }> {
  if (ctx.actor.type !== 'user') throw accessErrors.notPerson();
  return ctx.actor;
}

const nowOf = (deps: AccessRequestDeps) => deps.clock.now().toISOString();

async function toDto(deps: AccessRequestDeps, r: AccessRequestRow): Promise<AccessRequest> {
  return {
    id: r.id,
    accountId: r.account_id,
    tenantId: r.tenant_id,
    role: r.role,
    purposes: JSON.parse(r.purposes) as string[],
    reason: (await deps.sealer.open(sealCtx(r.id), r.reason_sealed)).toString('utf8'),
    minutes: r.duration_minutes,
    status: r.status === 'approved' && r.expires_at && r.expires_at <= nowOf(deps) ? 'expired' : r.status,
    createdAt: r.created_at,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
  };
}

async function canApprove(deps: AccessRequestDeps, ctx: RequestContext): Promise<boolean> {
  return deps.guard.assert(ctx, 'access_requests:approve', {}).then(
    () => true,
    () => false,
  );
}

/** Loads a request the caller may decide: permission first (platform scope, then the request's tenant), never one's own. */
async function decidable(deps: AccessRequestDeps, ctx: RequestContext, id: string): Promise<AccessRequestRow> {
  const actor = person(ctx);
  await deps.guard.assert(ctx, 'access_requests:approve', {});
  const row = await deps.db.read((tx) => store.findRequest(tx, id));
  if (!row) throw accessErrors.notFound();
  if (row.tenant_id) await deps.guard.assert(ctx, 'access_requests:approve', { tenantId: row.tenant_id });
  if (row.account_id === actor.id) throw accessErrors.selfApproval();
  return row;
}

export async function requestAccess(deps: AccessRequestDeps, ctx: RequestContext, input: NewAccessRequest): Promise<AccessRequest> {
  const actor = person(ctx);
  checkAsk(actor, input);
  const id = newId();
  const row: AccessRequestRow = {
    id,
    account_id: actor.id,
    tenant_id: input.tenantId ?? null,
    role: input.role,
    purposes: JSON.stringify(input.purposes ?? []),
    reason_sealed: await deps.sealer.seal(sealCtx(id), Buffer.from(input.reason, 'utf8')),
    duration_minutes: input.minutes,
    status: 'pending',
    created_at: nowOf(deps),
    decided_by: null,
    decided_at: null,
    expires_at: null,
    ended_at: null,
  };
  await deps.db.write(async (tx) => {
    if (row.tenant_id && !(await store.tenantExists(tx, row.tenant_id))) throw accessErrors.invalid('no such tenant');
    await store.insertRequest(tx, row);
    await deps.audit.record(tx, ctx, event('access_request.create', row, 99));
  });
  return toDto(deps, row);
}

/** Approves (the grant runs from now for the asked minutes) or denies a pending request; needs a recent second factor. */
export async function decideRequest(deps: AccessRequestDeps, ctx: RequestContext, id: string, approve: boolean): Promise<AccessRequest> {
  const row = await decidable(deps, ctx, id);
  deps.guard.requireRecentMfa(ctx);
  const at = deps.clock.now();
  const by = ctx.actor.type === 'user' ? ctx.actor.id : null;
  const patch: Partial<AccessRequestRow> = approve
    ? { status: 'approved', decided_by: by, decided_at: at.toISOString(), expires_at: new Date(at.getTime() + row.duration_minutes * 60_000).toISOString() }
    : { status: 'denied', decided_by: by, decided_at: at.toISOString() };
  const next = { ...row, ...patch };
  await deps.db.write(async (tx) => {
    if (!(await store.transition(tx, id, 'pending', patch))) throw accessErrors.notPending((await store.findRequest(tx, id))?.status ?? 'gone');
    await deps.audit.record(tx, ctx, event(approve ? 'access_request.approve' : 'access_request.deny', next, approve ? 1 : 99, { expiresAt: next.expires_at }));
  });
  return toDto(deps, next);
}

/** Ends an active grant early: its requester, or anyone who may approve it. */
export async function revokeGrant(deps: AccessRequestDeps, ctx: RequestContext, id: string): Promise<AccessRequest> {
  const actor = person(ctx);
  const own = await deps.db.read((tx) => store.findRequest(tx, id));
  const row = own?.account_id === actor.id ? own : await decidable(deps, ctx, id);
  const patch = { status: 'revoked' as const, ended_at: nowOf(deps) };
  await deps.db.write(async (tx) => {
    if (!row.expires_at || row.expires_at <= patch.ended_at || !(await store.transition(tx, id, 'approved', patch))) throw accessErrors.notActive();
    await deps.audit.record(tx, ctx, event('access_request.revoke', row, 2));
  });
  return toDto(deps, { ...row, ...patch });
}

/** Records every grant whose time is over as expired, each with its audit event; returns how many. */
export async function sweepExpired(deps: AccessRequestDeps, ctx: RequestContext): Promise<number> {
  const due = await deps.db.read((tx) => store.dueForExpiry(tx, nowOf(deps), 500));
  let n = 0;
  for (const row of due) {
    await deps.db.write(async (tx) => {
      if (!(await store.transition(tx, row.id, 'approved', { status: 'expired', ended_at: nowOf(deps) }))) return;
      await deps.audit.record(tx, ctx, event('access_request.expire', row, 2, { expiresAt: row.expires_at }));
      n++;
    });
  }
  return n;
}

/**
 * Just-in-time access (M23, M66): a person asks for a role or permission in
 * a scope for some minutes with a reason; someone else holding
 * `access_requests:approve` there decides (with a recent second factor);
 * the grant ends by itself at `expires_at` (authentication ignores it from
 * then on; `sweep` records the expiry in the audit log). Every step is an
 * OCSF User Access Management event.
 */
export function createAccessRequestService(deps: AccessRequestDeps) {
  return {
    request: (ctx: RequestContext, input: NewAccessRequest) => requestAccess(deps, ctx, input),
    approve: (ctx: RequestContext, id: string) => decideRequest(deps, ctx, id, true),
    deny: (ctx: RequestContext, id: string) => decideRequest(deps, ctx, id, false),
    revoke: (ctx: RequestContext, id: string) => revokeGrant(deps, ctx, id),
    sweep: (ctx: RequestContext) => sweepExpired(deps, ctx),
    /** Pending, active, expired (or all) requests: one's own, or everyone's for those who may approve. */
    async list(ctx: RequestContext, q: { view: View; mine?: boolean | undefined; limit?: number | undefined }): Promise<AccessRequest[]> {
      const actor = person(ctx);
      const all = !q.mine && (await canApprove(deps, ctx));
      const rows = await deps.db.read((tx) => store.listRequests(tx, { view: q.view, accountId: all ? undefined : actor.id, now: nowOf(deps), limit: q.limit ?? 100 }));
      return Promise.all(rows.map((r) => toDto(deps, r)));
    },
    async get(ctx: RequestContext, id: string): Promise<AccessRequest> {
      const actor = person(ctx);
      const row = await deps.db.read((tx) => store.findRequest(tx, id));
      if (!row || (row.account_id !== actor.id && !(await canApprove(deps, ctx)))) throw accessErrors.notFound();
      return toDto(deps, row);
    },
  };
}

export type AccessRequestService = ReturnType<typeof createAccessRequestService>;
