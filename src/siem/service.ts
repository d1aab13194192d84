/**
 * The SIEM's API logic: alerts (list, detail with inclusion proofs, state
 * and assignee, notes, response reverts) and the deployment's rule settings.
 * Every call is authorised first (alerts:read, alerts:manage, siem:manage);
 * every change records its audit event in its own transaction.
 */
import { ACTIVITY, OCSF, type AuditEventInput, type AuditReadService, type AuditRecorder } from '../audit/index.js';
import type { Guard } from '../access/index.js';
import type { Db } from '../db/index.js';
import type { SecretSealer } from '../identity/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestContext } from '../shared/context.js';
import { actorRef } from '../shared/context.js';
import { isCustosError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { decodeCursor, encodeCursor, type Page } from '../shared/pagination.js';
import { toAlert } from './alert.js';
import { siemErrors } from './errors.js';
import { revertResponse } from './responses.js';
import { effectiveSettings, type LoadedRules, type SiemConfig } from './rules.js';
import { findAlert, findResponse, insertNote, listAlerts, listNotes, listResponses, markReverted, transitionAlert, type AlertRow, type ResponseRow } from './store.js';
import { listSettings, upsertSettings } from './store-queue.js';
import {
  TRANSITIONS,
  type Alert,
  type AlertDetail,
  type AlertNote,
  type AlertPatch,
  type AlertProof,
  type AlertQuery,
  type AlertResponse,
  type RulePatch,
  type RuleView,
} from './types.js';

/** Inclusion proofs returned with an alert: the first indexes (each read is audited by the log). */
export const MAX_PROOFS = 10;

export interface SiemServiceDeps {
  db: Db;
  audit: AuditRecorder;
  guard: Guard;
  clock: Clock;
  sealer: SecretSealer;
  /** The audit log's reading service: inclusion proofs for an alert's indexes. */
  reader: Pick<AuditReadService, 'inclusionProof'>;
  /** An active platform account (assignees); resolves false for anything else. */
  isPlatformAccount: (ctx: RequestContext, id: string) => Promise<boolean>;
  rules: LoadedRules;
  config: SiemConfig;
  /** Rule settings changed: recompile in this process. */
  onRulesChanged: () => void;
}

const toResponse = (r: ResponseRow): AlertResponse => ({
  id: r.id,
  action: r.action,
  target: { type: r.target_type, id: r.target_id },
  state: r.state,
  appliedAt: r.applied_at,
  revertedAt: r.reverted_at,
  revertedBy: r.reverted_by,
});

function event(action: string, target: { type: string; id: string }, details: AuditEventInput['details'], tenantId: string | null = null): AuditEventInput {
  return { classUid: OCSF.DETECTION_FINDING, activityId: ACTIVITY.UPDATE, action, kind: 'change', outcome: 'success', tenantId, target, details };
}

const NOTE_SEAL = (id: string) => ({ tenantId: '_platform', purpose: 'siem_notes', objectId: id, field: 'body' });

export function createSiemService(deps: SiemServiceDeps) {
  const { db, audit, guard, clock } = deps;
  const alertRow = async (id: string) => {
    const row = await db.read((tx) => findAlert(tx, id));
    if (!row) throw siemErrors.alertNotFound();
    return row;
  };
  const ruleView = (settings: Map<string, Awaited<ReturnType<typeof listSettings>>[number]>) => (r: LoadedRules['rules'][number]): RuleView => {
    const s = effectiveSettings(settings.get(r.id), deps.config.suppressionSeconds);
    return {
      id: r.id,
      title: r.title,
      kind: r.kind,
      level: r.level,
      effectiveLevel: s.level ?? r.level,
      tags: r.tags,
      source: deps.rules.origin.get(r.id) ?? 'extra',
      enabled: s.enabled,
      suppressionSeconds: s.suppressionSeconds,
      responses: s.responses,
      updatedAt: s.updatedAt,
    };
  };

  async function proofs(ctx: RequestContext, indexes: number[]): Promise<AlertProof[]> {
    const out: AlertProof[] = [];
    for (const index of indexes.slice(0, MAX_PROOFS)) {
      try {
        const p = await deps.reader.inclusionProof(ctx, index);
        out.push({ index, proof: { size: p.size, leafHash: p.leafHash, proof: p.proof, checkpoint: p.checkpoint } });
      } catch (e) {
        // Not yet under a signed checkpoint (or the log has no checkpoint yet): no proof to give for now.
        if (!isCustosError(e) || e.status >= 500 || e.code === 'ACCESS_DENIED') throw e;
        out.push({ index, proof: null });
      }
    }
    return out;
  }

  return {
    async list(ctx: RequestContext, q: AlertQuery): Promise<Page<Alert>> {
      await guard.assert(ctx, 'alerts:read', {});
      const beforeId = q.cursor ? decodeCursor(q.cursor, siemErrors.badCursor) : undefined;
      const since = q.since ? new Date(q.since).toISOString() : undefined;
      const rows = await db.read((tx) => listAlerts(tx, { state: q.state, severity: q.severity, ruleId: q.rule, since, beforeId }, q.limit + 1));
      const items = rows.slice(0, q.limit).map(toAlert);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null };
    },

    async get(ctx: RequestContext, id: string): Promise<AlertDetail> {
      await guard.assert(ctx, 'alerts:read', {});
      const row = await alertRow(id);
      const [notes, responses] = await db.read(async (tx) => [await listNotes(tx, id), await listResponses(tx, id)] as const);
      const opened: AlertNote[] = [];
      for (const n of notes) {
        const body = (await deps.sealer.open(NOTE_SEAL(n.id), n.body_sealed)).toString('utf8');
        opened.push({ id: n.id, author: { type: n.author_type, id: n.author_id }, body, createdAt: n.created_at });
      }
      const alert = toAlert(row);
      return { ...alert, notes: opened, responses: responses.map(toResponse), proofs: await proofs(ctx, alert.indexes) };
    },

    async update(ctx: RequestContext, id: string, patch: AlertPatch): Promise<Alert> {
      await guard.assert(ctx, 'alerts:manage', {});
      const row = await alertRow(id);
      if (patch.state !== undefined && patch.state !== row.state && !TRANSITIONS[row.state].includes(patch.state)) throw siemErrors.transition(row.state, patch.state);
      if (patch.assignee && !(await deps.isPlatformAccount(ctx, patch.assignee))) throw siemErrors.assignee();
      const now = clock.now().toISOString();
      const state = patch.state ?? row.state;
      const closing = state !== row.state && (state === 'resolved' || state === 'false_positive');
      const next: AlertRow = { ...row, state, assignee: patch.assignee === undefined ? row.assignee : patch.assignee, updated_at: now, closed_at: closing ? now : row.closed_at };
      await db.write(async (tx) => {
        if (!(await transitionAlert(tx, id, row.state, { state: next.state, assignee: next.assignee, updated_at: now, closed_at: next.closed_at }))) {
          throw siemErrors.transition(row.state, state);
        }
        await audit.record(tx, ctx, event('siem.alert.update', { type: 'siem_alert', id }, { from: row.state, to: state, assignee: next.assignee }, row.tenant_id));
      });
      return toAlert(next);
    },

    async addNote(ctx: RequestContext, id: string, body: string): Promise<AlertNote> {
      await guard.assert(ctx, 'alerts:manage', {});
      const row = await alertRow(id);
      const noteId = newId();
      const sealed = await deps.sealer.seal(NOTE_SEAL(noteId), Buffer.from(body, 'utf8'));
      const author = actorRef(ctx.actor);
      const now = clock.now().toISOString();
      await db.write(async (tx) => {
        await insertNote(tx, { id: noteId, alert_id: id, author_type: author.type, author_id: author.id, body_sealed: sealed, created_at: now });
        await audit.record(tx, ctx, event('siem.alert.note', { type: 'siem_alert', id }, { noteId, length: body.length }, row.tenant_id));
      });
      return { id: noteId, author, body, createdAt: now };
    },

    async revert(ctx: RequestContext, alertId: string, responseId: string): Promise<AlertResponse> {
      await guard.assert(ctx, 'alerts:manage', {});
      const alert = await alertRow(alertId);
      const found = await db.read((tx) => findResponse(tx, alertId, responseId));
      if (!found) throw siemErrors.responseNotFound();
      const by = actorRef(ctx.actor);
      const now = clock.now().toISOString();
      await db.write(async (tx) => {
        if (!(await markReverted(tx, responseId, `${by.type}:${by.id}`, now))) throw siemErrors.alreadyReverted();
        await revertResponse({ audit, clock }, tx, ctx, found);
        await audit.record(tx, ctx, {
          ...event('siem.response.revert', { type: 'siem_response', id: responseId }, { alertId, action: found.action, targetType: found.target_type, targetId: found.target_id }, alert.tenant_id),
          kind: 'security',
        });
      });
      return toResponse({ ...found, state: 'reverted', reverted_at: now, reverted_by: `${by.type}:${by.id}` });
    },

    async listRules(ctx: RequestContext): Promise<RuleView[]> {
      await guard.assert(ctx, 'alerts:read', {});
      const settings = new Map((await db.read((tx) => listSettings(tx))).map((r) => [r.rule_id, r]));
      return deps.rules.rules.map(ruleView(settings));
    },

    async updateRule(ctx: RequestContext, ruleId: string, patch: RulePatch): Promise<RuleView> {
      await guard.assert(ctx, 'siem:manage', {});
      const rule = deps.rules.rules.find((r) => r.id === ruleId);
      if (!rule) throw siemErrors.ruleNotFound(ruleId);
      // Turning on a response lets the SIEM lock people out: a security setting, so a fresh second factor.
      if (patch.responses?.length) guard.requireRecentMfa(ctx);
      const by = actorRef(ctx.actor);
      const now = clock.now().toISOString();
      const view = await db.write(async (tx) => {
        const current = new Map((await listSettings(tx)).map((r) => [r.rule_id, r]));
        const s = effectiveSettings(current.get(ruleId), deps.config.suppressionSeconds);
        const old = current.get(ruleId);
        const row = {
          rule_id: ruleId,
          enabled: (patch.enabled ?? s.enabled) ? 1 : 0,
          level: patch.level === undefined ? (old?.level ?? null) : patch.level,
          suppression_seconds: patch.suppressionSeconds === undefined ? (old?.suppression_seconds ?? null) : patch.suppressionSeconds,
          responses: JSON.stringify(patch.responses ?? s.responses),
          updated_by: `${by.type}:${by.id}`,
          updated_at: now,
        };
        await upsertSettings(tx, row);
        const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean | string[] | null>;
        await audit.record(tx, ctx, { ...event('siem.rule.update', { type: 'siem_rule', id: ruleId }, { changes }), kind: 'security', severity: 'medium' });
        return ruleView(new Map([[ruleId, row]]))(rule);
      });
      deps.onRulesChanged();
      return view;
    },
  };
}

export type SiemService = ReturnType<typeof createSiemService>;
