import type { JsonValue } from '../../audit/index.js';

export type IngestFormat = 'ocsf' | 'ecs' | 'syslog';
export type JsonObject = { [k: string]: JsonValue };

/**
 * What Custos makes of an external event, whatever its dialect: the fields
 * the rule pack matches on (rules/sigma/pipeline.yml maps them from
 * `unmapped.source.*`). Absent facts are left out, never invented.
 */
export interface SourceSummary {
  format: IngestFormat;
  /** The event's own time (ISO-8601 UTC); the audit entry's `time` is when Custos took it. */
  time: string;
  /** OCSF class and activity: as sent (OCSF) or mapped (ECS categories, syslog structured data). */
  class_uid: number;
  activity_id: number;
  /** ECS-style categorisation (`configuration`, `network`, `authentication`, …) and types (`change`, `start`, …). */
  category: string[];
  type: string[];
  outcome: 'success' | 'failure' | 'unknown';
  action?: string;
  severity_id?: number;
  product?: string;
  vendor?: string;
  /** The kind of device that observed it: `firewall`, `vpn`, `router`, … (lower case). */
  observer_type?: string;
  host?: string;
  app?: string;
  user?: string;
  src_ip?: string;
  dst_ip?: string;
  message?: string;
}

/** A validated external event: its summary and the source's own fields, kept as sent. */
export interface NormalizedEvent {
  summary: SourceSummary;
  original: JsonObject;
}

/** Why one item of a batch (or one syslog frame) was refused. */
export interface ItemProblem {
  code: string;
  detail: string;
}

export type NormalizeResult = { ok: true; event: NormalizedEvent } | { ok: false; problem: ItemProblem };
