/** Domain types and DTOs of the SIEM runtime. */
import type { Severity } from '../audit/index.js';
import type { AlertState, ResponseAction } from './tables.js';

export type { AlertState, ResponseAction };

export const RESPONSE_ACTIONS: readonly ResponseAction[] = ['lock_account', 'revoke_sessions', 'suspend_api_key'];
export const SEVERITIES: readonly Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** Allowed lifecycle steps: open → acknowledged → resolved | false_positive (open may close directly). */
export const TRANSITIONS: Record<AlertState, readonly AlertState[]> = {
  open: ['acknowledged', 'resolved', 'false_positive'],
  acknowledged: ['resolved', 'false_positive'],
  resolved: [],
  false_positive: [],
};

export interface Alert {
  id: string;
  ruleId: string;
  title: string;
  severity: Severity;
  /** The correlation's group-by values (`field=value;…`), or the rule id for a detection: the deduplication key. */
  groupKey: string;
  tenantId: string | null;
  state: AlertState;
  assignee: string | null;
  /** Matches folded into this alert (dedup within the suppression window). */
  count: number;
  /** Log indexes that triggered it (the first 100). */
  indexes: number[];
  firstSeenAt: string;
  lastSeenAt: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

export interface AlertNote {
  id: string;
  author: { type: string; id: string };
  body: string;
  createdAt: string;
}

export interface AlertResponse {
  id: string;
  action: ResponseAction;
  target: { type: string; id: string };
  state: 'applied' | 'skipped' | 'reverted';
  appliedAt: string;
  revertedAt: string | null;
  revertedBy: string | null;
}

export interface AlertProof {
  index: number;
  /** Inclusion proof in the newest checkpoint; null while no checkpoint covers the entry yet. */
  proof: { size: number; leafHash: string; proof: string[]; checkpoint: string | null } | null;
}

export interface AlertDetail extends Alert {
  notes: AlertNote[];
  responses: AlertResponse[];
  proofs: AlertProof[];
}

export interface AlertQuery {
  limit: number;
  cursor?: string | undefined;
  state?: AlertState | undefined;
  severity?: Severity | undefined;
  rule?: string | undefined;
  since?: string | undefined;
}

export interface RuleView {
  id: string;
  title: string;
  kind: 'detection' | 'correlation';
  /** The rule's own level and, when overridden, the deployment's. */
  level: Severity;
  effectiveLevel: Severity;
  tags: string[];
  source: 'builtin' | 'extra';
  enabled: boolean;
  suppressionSeconds: number;
  responses: ResponseAction[];
  updatedAt: string | null;
}

export interface RulePatch {
  enabled?: boolean | undefined;
  level?: Severity | null | undefined;
  suppressionSeconds?: number | null | undefined;
  responses?: ResponseAction[] | undefined;
}

export interface AlertPatch {
  state?: AlertState | undefined;
  assignee?: string | null | undefined;
}
