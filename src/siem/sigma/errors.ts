import { createError, type CustosError } from '../../shared/errors.js';

/** Where a problem sits: the file, the rule (id or title) and the YAML path inside it. */
export interface RuleLocation {
  source?: string | undefined;
  rule?: string | undefined;
}

/** A rule that cannot be parsed or compiled. The message names file, rule and path. */
export function ruleInvalid(loc: RuleLocation, path: string, reason: string): CustosError {
  const where = [loc.source, loc.rule ? `rule "${loc.rule}"` : undefined, path || undefined].filter(Boolean).join(': ');
  return createError('SIEM_RULE_INVALID', `${where}: ${reason}`, 400, {
    source: loc.source ?? null,
    rule: loc.rule ?? null,
    path,
  });
}

/** A pipeline file the engine cannot use. */
export function pipelineInvalid(path: string, reason: string): CustosError {
  return createError('SIEM_PIPELINE_INVALID', `pipeline: ${path ? `${path}: ` : ''}${reason}`, 400, { path });
}

/** Snapshot state that does not belong to this engine version. */
export function stateInvalid(reason: string): CustosError {
  return createError('SIEM_STATE_INVALID', `sigma state: ${reason}`, 400);
}
