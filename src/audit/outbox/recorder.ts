import type { Db, Tx } from '../../db/index.js';
import { actorRef, type RequestContext } from '../../shared/context.js';
import type { Clock } from '../../shared/clock.js';
import { createError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { buildEvent, type AuditEventInput, type OcsfEvent } from '../events.js';
import { canonicalJson } from '../log/index.js';
import { insertOutbox } from './store.js';

/** Largest event accepted; a bigger one is refused, never truncated. */
export const MAX_EVENT_BYTES = 64 * 1024;

export interface AuditRecorder {
  /**
   * Appends the event to the outbox inside `tx`, the same transaction as the
   * change it describes: it commits with the change or not at all.
   */
  record(tx: Tx, ctx: RequestContext, input: AuditEventInput): Promise<OcsfEvent>;
  /**
   * Records an event in a transaction of its own: for refusals (security
   * events, failed logins) whose request changes nothing else.
   */
  recordAlone(ctx: RequestContext, input: AuditEventInput): Promise<OcsfEvent>;
}

export function createAuditRecorder(deps: { clock: Clock; db: Db }): AuditRecorder {
  const recorder: AuditRecorder = {
    recordAlone: (ctx, input) => deps.db.write((tx) => recorder.record(tx, ctx, input)),
    async record(tx, ctx, input) {
      const eventId = newId();
      const time = deps.clock.now();
      const actor = actorRef(ctx.actor);
      const event = buildEvent(input, {
        eventId,
        time,
        actor,
        requestId: ctx.requestId,
        sourceIp: ctx.sourceIp,
      });
      // RFC 8785 here, in the writer's transaction: an event JCS cannot represent is refused with the
      // change (AUDIT_EVENT_NOT_CANONICALIZABLE), and the sequencer hashes the stored text as it is.
      const json = canonicalJson(event);
      if (Buffer.byteLength(json) > MAX_EVENT_BYTES) {
        throw createError('AUDIT_EVENT_TOO_LARGE', `audit event ${input.action} exceeds ${MAX_EVENT_BYTES} bytes`, 500);
      }
      await insertOutbox(tx, {
        event_id: eventId,
        recorded_at: time.toISOString(),
        tenant_id: input.tenantId ?? null,
        class_uid: input.classUid,
        activity_id: input.activityId,
        event: json,
        action: input.action,
        actor_type: actor.type,
        actor_id: actor.id,
        target_type: input.target?.type ?? null,
        target_id: input.target?.id ?? null,
        outcome: input.outcome,
      });
      return event;
    },
  };
  return recorder;
}
