/** DTOs of the audit reading API. Hashes and proofs are base64; times ISO-8601 UTC. */
export interface AuditEntry {
  index: number;
  eventId: string;
  recordedAt: string;
  tenantId: string | null;
  classUid: number;
  activityId: number;
  action: string;
  actor: { type: string; id: string };
  target: { type: string; id: string } | null;
  outcome: 'success' | 'failure';
  /** RFC 6962 leaf hash of the RFC 8785 canonical JSON of `event`. */
  leafHash: string;
  /** The OCSF event; its RFC 8785 form is the leaf data. */
  event: Record<string, unknown>;
}

export interface AuditCheckpoint {
  origin: string;
  size: number;
  root: string;
  /** The C2SP signed note (tlog-checkpoint), verbatim. */
  note: string;
  /** The C2SP verifier key that signs it. */
  verifierKey: string;
  createdAt: string;
}

export interface InclusionProof {
  index: number;
  size: number;
  leafHash: string;
  proof: string[];
  /** The signed checkpoint of `size`, when one was signed at exactly that size. */
  checkpoint: string | null;
}

export interface ConsistencyProof {
  from: number;
  to: number;
  proof: string[];
  /** The signed checkpoints of `from` and `to`, when signed at exactly those sizes. */
  fromCheckpoint: string | null;
  toCheckpoint: string | null;
}

export interface EntryQuery {
  limit: number;
  cursor?: string | undefined;
  order?: 'asc' | 'desc' | undefined;
  from?: string | undefined;
  to?: string | undefined;
  actor?: string | undefined;
  actorType?: string | undefined;
  class?: number | undefined;
  outcome?: 'success' | 'failure' | undefined;
  tenant?: string | undefined;
  target?: string | undefined;
  targetType?: string | undefined;
  action?: string | undefined;
}
