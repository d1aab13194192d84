/**
 * Where the SIEM's rules come from: the built-in pack (`rules/sigma/*.yml`
 * of the package, with its `pipeline.yml` field mapping) and the extra files
 * or directories of `siem.rulePaths`; and how the deployment's settings
 * (enabled, level, suppression, responses) shape the compiled rule set.
 * Read once at start; a bad file stops the start with its name.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Severity } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { isCustosError } from '../shared/errors.js';
import { siemErrors } from './errors.js';
import { compileRuleSet, parsePipeline, parseRules, type FieldMapping, type RuleSet, type SigmaRule } from './sigma/index.js';
import type { SettingsRow } from './store-queue.js';
import type { ResponseAction } from './types.js';

export type SiemConfig = Config['siem'];

export interface LoadedRules {
  rules: SigmaRule[];
  /** Rule id → where it came from. */
  origin: Map<string, 'builtin' | 'extra'>;
  mapping: FieldMapping | undefined;
}

/** The deployment's view of one rule: its settings row, or the defaults. */
export interface EffectiveSettings {
  enabled: boolean;
  level: Severity | null;
  suppressionSeconds: number;
  responses: ResponseAction[];
  updatedAt: string | null;
}

const PIPELINE = 'pipeline.yml';

/**
 * The pack directory: `<package>/rules/sigma`, two levels above src/siem
 * when running from sources, three above dist/src/siem when built.
 */
export function packDirectory(): string | undefined {
  for (const rel of ['../../rules/sigma', '../../../rules/sigma']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
  }
  return undefined;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw siemErrors.rulesUnreadable(file, (e as NodeJS.ErrnoException).code ?? 'unreadable');
  }
}

/** Rule files of a directory (sorted, `*.yml`/`*.yaml`, the pipeline excluded) or the file itself. */
function ruleFiles(p: string): string[] {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    throw siemErrors.rulesUnreadable(p, (e as NodeJS.ErrnoException).code ?? 'unreadable');
  }
  if (!st.isDirectory()) return [p];
  return readdirSync(p)
    .filter((f) => /\.ya?ml$/.test(f) && f !== PIPELINE)
    .sort()
    .map((f) => path.join(p, f));
}

function parseFile(file: string): SigmaRule[] {
  try {
    return parseRules(read(file), path.basename(file));
  } catch (e) {
    // The engine's own error names the rule and the path inside it; keep it, add the file.
    if (isCustosError(e) && e.code !== 'SIEM_RULES_UNREADABLE') throw siemErrors.rulesUnreadable(file, `${e.code}: ${e.message}`);
    throw e;
  }
}

/** Loads the pack (unless `builtinRules` is off) and the extra paths; rule ids must be unique across them. */
export function loadRules(config: SiemConfig, packDir: string | undefined = packDirectory(), warn: (msg: string) => void = () => {}): LoadedRules {
  const origin = new Map<string, 'builtin' | 'extra'>();
  const rules: SigmaRule[] = [];
  const add = (list: SigmaRule[], from: 'builtin' | 'extra', file: string) => {
    for (const r of list) {
      if (origin.has(r.id)) throw siemErrors.rulesUnreadable(file, `rule id ${r.id} is defined twice`);
      origin.set(r.id, from);
      rules.push(r);
    }
  };
  let mappingText: string | undefined;
  if (config.builtinRules && !packDir) {
    // A package without its pack is a packaging fault; the SIEM still runs the extra rules and says so.
    warn('siem: the built-in rule pack (rules/sigma) is not in the package; running without it');
  } else if (config.builtinRules && packDir) {
    for (const f of ruleFiles(packDir)) add(parseFile(f), 'builtin', f);
    if (existsSync(path.join(packDir, PIPELINE))) mappingText = read(path.join(packDir, PIPELINE));
  }
  for (const p of config.rulePaths) for (const f of ruleFiles(p)) add(parseFile(f), 'extra', f);
  if (config.pipeline) mappingText = read(config.pipeline);
  let mapping: FieldMapping | undefined;
  try {
    mapping = mappingText === undefined ? undefined : parsePipeline(mappingText);
  } catch (e) {
    throw siemErrors.rulesUnreadable(config.pipeline ?? PIPELINE, isCustosError(e) ? `${e.code}: ${e.message}` : String(e));
  }
  return { rules, origin, mapping };
}

export function effectiveSettings(row: SettingsRow | undefined, defaultSuppression: number): EffectiveSettings {
  return {
    enabled: row ? row.enabled === 1 : true,
    level: row?.level ?? null,
    suppressionSeconds: row?.suppression_seconds ?? defaultSuppression,
    responses: row ? (JSON.parse(row.responses) as ResponseAction[]) : [],
    updatedAt: row?.updated_at ?? null,
  };
}

/** Compiles the loaded rules with the deployment's enabled/disabled settings. */
export function compileWith(loaded: LoadedRules, settings: ReadonlyMap<string, SettingsRow>): RuleSet {
  return compileRuleSet(loaded.rules, {
    mapping: loaded.mapping,
    isEnabled: (id) => settings.get(id)?.enabled !== 0,
  });
}
