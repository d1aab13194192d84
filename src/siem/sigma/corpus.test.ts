// Conformance corpus (testdata/*.yml): rules, events in order, and the alerts each event must raise.
// Every case runs twice: straight through, and with a snapshot → JSON → fresh RuleSet → restore after every event.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { isCustosError } from '../../shared/errors.js';
import { compileRuleSet, parseFilters, parsePipeline, parseRules, type RuleSet, type SigmaMatch, type SigmaRule } from './index.js';

interface Step {
  at?: number;
  event: Record<string, unknown>;
  fires?: string[];
  expect?: Array<{ rule: string; indexes?: number[]; group?: Record<string, string> }>;
}
interface Case {
  name: string;
  rules: unknown[];
  pipeline?: unknown;
  filters?: unknown[];
  events: Step[];
}

const dir = path.join(import.meta.dirname, 'testdata');
const load = <T>(file: string): T[] => (parse(readFileSync(path.join(dir, file), 'utf8')) as { cases: T[] }).cases;

function build(c: Case): () => RuleSet {
  const rules: SigmaRule[] = c.rules.flatMap((r, i) => parseRules(stringify(r), `${c.name}#${i}`));
  const mapping = c.pipeline ? parsePipeline(stringify(c.pipeline)) : undefined;
  const filters = (c.filters ?? []).flatMap((f, i) => parseFilters(stringify(f), `${c.name}#filter${i}`));
  return () => compileRuleSet(rules, mapping ? { mapping, filters } : { filters });
}

function check(c: Case, restartEachEvent: boolean): void {
  const make = build(c);
  let set = make();
  c.events.forEach((step, index) => {
    const time = (step.at ?? index) * 1000;
    const got: SigmaMatch[] = set.evaluate(step.event, { index, time });
    expect(got.map((m) => m.ruleId).sort(), `event ${index} of "${c.name}"`).toEqual([...(step.fires ?? [])].sort());
    for (const want of step.expect ?? []) {
      const m = got.find((g) => g.ruleId === want.rule)!;
      if (want.indexes) expect(m.indexes, `indexes of ${want.rule} at event ${index}`).toEqual(want.indexes);
      if (want.group) expect(m.group ?? {}, `group of ${want.rule} at event ${index}`).toEqual(want.group);
      expect(m.time).toBe(time);
    }
    if (restartEachEvent) {
      const saved: unknown = JSON.parse(JSON.stringify(set.snapshot()));
      set = make();
      set.restore(saved);
    }
  });
}

for (const file of ['detection.yml', 'modifiers.yml', 'conditions.yml', 'correlations.yml', 'filters.yml']) {
  describe(`sigma corpus ${file}`, () => {
    for (const c of load<Case>(file)) {
      it(c.name, () => check(c, false));
      it(`${c.name} (restart after every event)`, () => check(c, true));
    }
  });
}

interface Invalid {
  name: string;
  yaml: string;
  rule?: string;
  path?: string;
  message: string;
  compile?: boolean;
}

describe('sigma corpus invalid.yml: malformed rules are refused with a clear error', () => {
  for (const c of load<Invalid>('invalid.yml')) {
    it(c.name, () => {
      let err: unknown;
      try {
        const rules = parseRules(c.yaml, 'bad.yml');
        compileRuleSet(rules);
      } catch (e) {
        err = e;
      }
      expect(isCustosError(err), `${c.name} must throw a CustosError`).toBe(true);
      if (!isCustosError(err)) return;
      expect(err.code).toBe('SIEM_RULE_INVALID');
      expect(err.message).toContain(c.message);
      expect(err.message.startsWith('bad.yml')).toBe(true);
      expect(err.extensions?.source).toBe('bad.yml');
      if (c.rule) expect(err.extensions?.rule).toBe(c.rule);
      if (c.path !== undefined) expect(err.extensions?.path).toBe(c.path);
      if (c.compile === false) return;
    });
  }
});
