/**
 * Public data types of the Sigma engine. Parsed rules and mappings are plain
 * JSON-serialisable data, so they can be stored, diffed and shipped; the
 * compiled form (closures) lives only inside a RuleSet.
 */

import type { SigmaFilter } from './filters.js';

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export const LEVELS: readonly SigmaLevel[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** A scalar a rule may compare with (YAML scalars; `null` tests for an absent or null field). */
export type SigmaScalar = string | number | boolean | null;

/** `Field|mod1|mod2: values` inside a search identifier. `field` null: a keyword search over the whole event. */
export interface FieldItem {
  field: string | null;
  modifiers: string[];
  values: SigmaScalar[];
}

/** A search identifier: a map (items ANDed), a list of maps (ORed), or keywords (a list of strings). */
export type SearchIdentifier =
  | { kind: 'maps'; maps: FieldItem[][] }
  | { kind: 'keywords'; item: FieldItem };

export type ConditionNode =
  | { op: 'id'; name: string }
  | { op: 'not'; arg: ConditionNode }
  | { op: 'and' | 'or'; args: ConditionNode[] }
  | { op: 'of'; quantifier: 'one' | 'all'; pattern: string /* 'them' or a wildcard pattern */ };

export interface LogSource {
  category?: string;
  product?: string;
  service?: string;
}

interface RuleCommon {
  /** `id` of the rule, else its `name`. */
  id: string;
  name?: string;
  title: string;
  level: SigmaLevel;
  tags: string[];
  status?: string;
  description?: string;
  /** Where the rule came from (file name), for error messages. */
  source?: string;
}

export interface DetectionRule extends RuleCommon {
  kind: 'detection';
  logsource: LogSource;
  searches: Record<string, SearchIdentifier>;
  /** The condition; a YAML list of conditions is already folded into one `or`. */
  condition: ConditionNode;
}

export type CorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered' | 'rate_deviation' | 'new_value';

export interface CountCondition {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
}

export interface CorrelationSpec {
  type: CorrelationType;
  /** Referenced rules by id or name, in order (order matters for temporal_ordered). */
  rules: string[];
  groupBy: string[];
  timespanMs: number;
  /** Absent for temporal types: every referenced rule must be seen. */
  condition: CountCondition | null;
  /** value_count: the field whose distinct values are counted; new_value: the field whose new values are reported. */
  field?: string;
  /** alias → (rule name or id → field name). */
  aliases: Record<string, Record<string, string>>;
  generate: boolean;
  /** rate_deviation only. */
  deviation?: RateDeviationSpec;
  /** new_value only. */
  newValue?: NewValueSpec;
}

/**
 * `type: new_value`: per group, remember the values of `field` seen in the
 * last `timespan`; fire when a value is new, except during the group's first
 * `warmup` (learning). IP values are reduced to their network by `mask` first.
 */
export interface NewValueSpec {
  warmupMs: number;
  mask: { ipv4: number; ipv6: number };
}

/** `type: rate_deviation`: count per bucket (`timespan`) and group, against an EWMA baseline of earlier buckets. */
export interface RateDeviationSpec {
  /** Fire when the bucket count exceeds mean + k·stddev. */
  k: number;
  /** EWMA weight of the newest bucket (0 < alpha ≤ 1). */
  alpha: number;
  /** Closed buckets a group needs before it may fire. */
  warmup: number;
}

export interface CorrelationRule extends RuleCommon {
  kind: 'correlation';
  correlation: CorrelationSpec;
}

export type SigmaRule = DetectionRule | CorrelationRule;

export interface LogSourceCondition {
  logsource: LogSource;
}

/** One pipeline transformation the engine understands. */
export type PipelineStep =
  | { type: 'field_name_mapping'; id?: string; mapping: Record<string, string[]>; when: LogSource[]; whenAll: boolean }
  | { type: 'add_condition'; id?: string; conditions: Record<string, SigmaScalar | SigmaScalar[]>; when: LogSource[]; whenAll: boolean };

/** A parsed pySigma-style pipeline: Sigma field → dotted path(s) in the event, per log source. */
export interface FieldMapping {
  name?: string;
  steps: PipelineStep[];
  /** Values for `|expand` placeholders (`%name%`). */
  vars: Record<string, string[]>;
}

export interface SigmaMatch {
  ruleId: string;
  title: string;
  level: SigmaLevel;
  kind: 'detection' | 'correlation';
  /** Log indexes of the events that triggered it (for correlations: the events in the window, oldest first). */
  indexes: number[];
  /** Correlations: group-by field → value. */
  group?: Record<string, string>;
  /** Event time (ms) of the event that completed the match. */
  time: number;
  tags: string[];
}

export interface RuleInfo {
  id: string;
  title: string;
  level: SigmaLevel;
  kind: 'detection' | 'correlation';
  tags: string[];
}

export interface RuleSet {
  readonly rules: ReadonlyArray<RuleInfo>;
  /** Evaluates one event; returns the alerts it fires (a shared empty array when none). */
  evaluate(event: Readonly<Record<string, unknown>>, meta: { index: number; time: number }): SigmaMatch[];
  /** Window and baseline state as plain JSON, to persist with the cursor. */
  snapshot(): unknown;
  /** Restores snapshot() output; state of rules no longer present is dropped. */
  restore(state: unknown): void;
}

export interface CompileOptions {
  mapping?: FieldMapping;
  /** Rules for which it answers false emit nothing (detections still feed enabled correlations). */
  isEnabled?: (ruleId: string) => boolean;
  /** Sigma filters (parseFilters) ANDed into the detection rules they name. */
  filters?: ReadonlyArray<SigmaFilter>;
  /** Select rules by their required plain-equality field before evaluating (default true; false for comparison only). */
  prefilter?: boolean;
}
