/**
 * Who is calling, and from where. Resolved once per request by the auth hook
 * (or built by the CLI and background jobs) and passed to every service call,
 * which authorises against it and records it in the audit event.
 */
export type Actor =
  | { type: 'anonymous' }
  | { type: 'bootstrap'; id: string }
  | { type: 'system'; id: string }
  | {
      type: 'user';
      id: string;
      platformRoles: readonly string[];
      /** Set for tenant members: the one tenant the account belongs to. */
      tenantId?: string | undefined;
      /** Permissions and purposes resolved at authentication (roles, custom roles). */
      permissions?: readonly string[] | undefined;
      purposes?: readonly string[] | undefined;
      /** Active just-in-time grants (access requests approved and not expired). */
      grants?: ReadonlyArray<{ tenantId: string | null; permissions: readonly string[]; purposes: readonly string[]; expiresAt: string }> | undefined;
      sessionId?: string | undefined;
      /** When this session last proved a second factor (step-up). */
      mfaAt?: string | null | undefined;
    }
  | { type: 'api_key'; id: string; tenantId: string; permissions: readonly string[]; purposes: readonly string[] };

export interface RequestContext {
  actor: Actor;
  requestId: string;
  sourceIp: string | null;
  /** Set when the request carried an Idempotency-Key (creating requests only). */
  idempotency?: { principal: string; key: string; requestHash: string; method: string; route: string } | undefined;
}

/** A context for CLI verbs and scheduled jobs. */
export function systemContext(job: string, requestId = `sys-${job}-${Date.now()}`): RequestContext {
  return { actor: { type: 'system', id: job }, requestId, sourceIp: null };
}

/** The stable reference of an actor for audit events and idempotency keys. */
export function actorRef(actor: Actor): { type: string; id: string } {
  return actor.type === 'anonymous' ? { type: 'anonymous', id: 'anonymous' } : { type: actor.type, id: actor.id };
}
