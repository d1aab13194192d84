/**
 * Custos Sigma engine: a pure, streaming evaluator of Sigma detection and
 * correlation rules over JSON events (no database, no I/O). See README.md.
 */
export { parseRules } from './parse.js';
export { parsePipeline } from './pipeline.js';
export { compileRuleSet } from './compile.js';
export { applyFilters, parseFilters, type SigmaFilter } from './filters.js';
export { MAX_REGEX_INPUT } from './regex.js';
export { MAX_ENTRIES_PER_GROUP, MAX_INDEXES } from './correlation.js';
export type {
  CompileOptions, ConditionNode, CorrelationRule, CorrelationSpec, CorrelationType, CountCondition, DetectionRule,
  FieldItem, FieldMapping, LogSource, NewValueSpec, PipelineStep, RateDeviationSpec, RuleInfo, RuleSet, SearchIdentifier,
  SigmaLevel, SigmaMatch, SigmaRule, SigmaScalar,
} from './types.js';
