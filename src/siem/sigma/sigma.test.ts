// Unit tests of the Sigma engine beyond the data corpus: baselines, restarts, pipelines, enablement, regex guard, properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../../shared/errors.js';
import { threshold } from './baseline.js';
import { compileRuleSet, parseFilters, parsePipeline, parseRules, type RuleSet, type SigmaMatch } from './index.js';
import { regexProblem } from './regex.js';

const HOUR = 3_600_000;

const BRUTE = `
title: Failed login
name: failed_login
id: failed
detection: { sel: { outcome: failure }, condition: sel }
---
title: Brute force
id: brute
correlation: { type: event_count, rules: [failed_login], group-by: [user], timespan: 5m, condition: { gte: 5 } }
`;

const MASS_READ = `
title: Personal data read
name: pd_read
id: pd-read
detection: { sel: { action: personal_data.read }, condition: sel }
---
title: Mass read
id: mass-read
correlation:
  type: rate_deviation
  rules: [pd_read]
  group-by: [actor]
  timespan: 1h
  condition: { gte: 10 }
  k: 3
  alpha: 0.2
  warmup: 3
`;

/** What `fn` throws (undefined when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function run(set: RuleSet, events: Array<{ e: Record<string, unknown>; t: number }>, from = 0): SigmaMatch[] {
  return events.flatMap(({ e, t }, i) => set.evaluate(e, { index: from + i, time: t }));
}

/** `perHour[h]` reads by `actor` spread evenly over hour h. */
function reads(actor: string, perHour: number[]): Array<{ e: Record<string, unknown>; t: number }> {
  return perHour.flatMap((n, h) => Array.from({ length: n }, (_, i) => ({ e: { action: 'personal_data.read', actor }, t: h * HOUR + Math.floor((i * HOUR) / n) })));
}

describe('rate_deviation baselines', () => {
  it('fires once when an actor exceeds mean + k·sd of their own history, at the first count above it', () => {
    const set = compileRuleSet(parseRules(MASS_READ));
    const events = reads('alice', [5, 5, 5, 5, 30]);
    const got = run(set, events);
    expect(got.map((m) => m.ruleId)).toEqual(['mass-read']);
    // Baseline of four buckets of 5: mean 5, variance 0, sd floored at √5 → threshold ≈ 11.7, so the 12th read fires.
    expect(threshold({ mean: 5, var: 0 }, 3)).toBeCloseTo(5 + 3 * Math.sqrt(5));
    expect(got[0]!.indexes).toHaveLength(12);
    expect(got[0]!.group).toEqual({ actor: 'alice' });
  });

  it('stays quiet during warm-up, below the minimum count, and within normal variation', () => {
    const set = compileRuleSet(parseRules(MASS_READ));
    expect(run(set, reads('bob', [30]))).toEqual([]);
    expect(run(compileRuleSet(parseRules(MASS_READ)), reads('carol', [5, 6, 4, 5, 9]))).toEqual([]);
    // mean 1: threshold ≈ 4, but fewer than 10 reads never fire
    expect(run(compileRuleSet(parseRules(MASS_READ)), reads('dan', [1, 1, 1, 1, 9]))).toEqual([]);
  });

  it('counts empty buckets in the baseline: after idle hours 15 reads stand out, during busy hours they do not', () => {
    // 3 per hour then 6 idle hours: mean ≈ 0.8, sd ≈ 1.3, threshold ≈ 4.7 → 15 reads fire (minimum count 10).
    expect(run(compileRuleSet(parseRules(MASS_READ)), reads('erin', [3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 15])).map((m) => m.ruleId)).toEqual(['mass-read']);
    // 20 then a sudden drop: the variance remembers the swing (threshold ≈ 23), so 15 is within it.
    expect(run(compileRuleSet(parseRules(MASS_READ)), reads('finn', [20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15]))).toEqual([]);
  });

  it('a restart in the middle of the anomalous bucket still fires exactly once', () => {
    const rules = parseRules(MASS_READ);
    const events = reads('alice', [5, 5, 5, 5, 30]);
    for (const cut of [21, 29, 31, 40]) {
      const first = compileRuleSet(rules);
      const before = run(first, events.slice(0, cut));
      const state: unknown = JSON.parse(JSON.stringify(first.snapshot()));
      const second = compileRuleSet(rules);
      second.restore(state);
      const after = run(second, events.slice(cut), cut);
      expect([...before, ...after].map((m) => m.ruleId), `cut at ${cut}`).toEqual(['mass-read']);
    }
  });
});

describe('snapshot and restore', () => {
  it('a restart in the middle of a window fires exactly once, with the same indexes', () => {
    const rules = parseRules(BRUTE);
    const events = Array.from({ length: 7 }, (_, i) => ({ e: { outcome: 'failure', user: 'bob' }, t: i * 10_000 }));
    const straight = run(compileRuleSet(rules), events);
    for (let cut = 1; cut < events.length; cut++) {
      const a = compileRuleSet(rules);
      const before = run(a, events.slice(0, cut));
      const b = compileRuleSet(rules);
      b.restore(JSON.parse(JSON.stringify(a.snapshot())));
      expect([...before, ...run(b, events.slice(cut), cut)]).toEqual(straight);
    }
    expect(straight).toHaveLength(1);
    expect(straight[0]!.indexes).toEqual([0, 1, 2, 3, 4]);
  });

  it('a snapshot is a copy: later events do not change it, and restoring it rolls back', () => {
    const set = compileRuleSet(parseRules(BRUTE));
    run(set, [{ e: { outcome: 'failure', user: 'u' }, t: 0 }]);
    const snap = set.snapshot();
    const frozen = JSON.stringify(snap);
    run(set, [1, 2, 3].map((i) => ({ e: { outcome: 'failure', user: 'u' }, t: i })), 1);
    expect(JSON.stringify(snap)).toBe(frozen);
    set.restore(snap);
    expect(run(set, [1, 2, 3].map((i) => ({ e: { outcome: 'failure', user: 'u' }, t: i })), 1)).toEqual([]);
    expect(run(set, [{ e: { outcome: 'failure', user: 'u' }, t: 4 }], 4)).toHaveLength(1);
  });

  it('refuses state it did not write; drops state of rules that are gone or changed type', () => {
    const set = compileRuleSet(parseRules(BRUTE));
    expect(() => set.restore({ nope: 1 })).toThrow(/version 1/);
    set.restore({ version: 1, correlations: { brute: { type: 'value_count', state: [['x', ['x'], []]] }, gone: { type: 'temporal', state: [] } } });
    expect(set.snapshot()).toEqual({ version: 1, correlations: { brute: { type: 'event_count', state: [] } } });
  });
});

describe('pipelines', () => {
  const PIPE = `
name: custos-ocsf
vars: { Admins: [root] }
transformations:
  - id: users
    type: field_name_mapping
    mapping:
      User: [actor.user.name, actor.user.email_addr]
      SourceIp: src_endpoint.ip
  - id: custos-only
    type: field_name_mapping
    mapping: { Action: api.operation }
    rule_conditions: [{ type: logsource, product: custos }]
  - type: add_condition
    conditions: { metadata.product.name: Custos }
    rule_conditions: [{ type: logsource, product: custos }, { type: logsource, service: audit }]
    rule_cond_op: or
`;
  const RULES = `
title: Custos login
id: custos-login
logsource: { product: custos }
detection: { sel: { Action: login, User: alice }, condition: sel }
---
title: Generic
id: generic
logsource: { product: firewall }
detection: { sel: { Action: login, User|expand: '%Admins%' }, condition: sel }
`;

  it('maps Sigma fields to event paths (several paths ORed), per log source, and adds conditions', () => {
    const set = compileRuleSet(parseRules(RULES), { mapping: parsePipeline(PIPE) });
    const ev = (e: Record<string, unknown>) => set.evaluate(e, { index: 0, time: 0 }).map((m) => m.ruleId);
    expect(ev({ api: { operation: 'login' }, actor: { user: { email_addr: 'ALICE' } }, metadata: { product: { name: 'Custos' } } })).toEqual(['custos-login']);
    expect(ev({ api: { operation: 'login' }, actor: { user: { name: 'alice' } }, metadata: { product: { name: 'Other' } } })).toEqual([]);
    // the firewall rule keeps the unmapped Action field but gets the global User mapping
    expect(ev({ Action: 'login', actor: { user: { name: 'root' } } })).toEqual(['generic']);
  });

  it('refuses unsupported transformations and malformed mappings with SIEM_PIPELINE_INVALID', () => {
    const bad = ['transformations: [{ type: drop_detection_item }]', 'transformations: [{ type: field_name_mapping, mapping: { A: [] } }]',
      'transformations: [{ type: field_name_mapping, mapping: { A: b }, rule_conditions: [{ type: include_fields }] }]', 'transformations: {}', '- a'];
    for (const text of bad) {
      const err = thrown(() => parsePipeline(text));
      expect(isCustosError(err) && err.code, text).toBe('SIEM_PIPELINE_INVALID');
    }
  });
});

describe('enablement and generate', () => {
  it('a disabled detection still feeds an enabled correlation; a disabled correlation does not run', () => {
    const rules = parseRules(BRUTE);
    const events = Array.from({ length: 5 }, (_, i) => ({ e: { outcome: 'failure', user: 'u' }, t: i }));
    expect(run(compileRuleSet(rules, { isEnabled: (id) => id !== 'failed' }), events).map((m) => m.ruleId)).toEqual(['brute']);
    expect(run(compileRuleSet(rules, { isEnabled: (id) => id !== 'brute' }), events)).toEqual([]);
    expect(compileRuleSet(rules).rules.map((r) => `${r.id}:${r.kind}`)).toEqual(['failed:detection', 'brute:correlation']);
  });

  it('returns one shared empty array when nothing matches (no allocation per quiet event)', () => {
    const set = compileRuleSet(parseRules(BRUTE));
    expect(set.evaluate({ outcome: 'success' }, { index: 0, time: 0 })).toBe(set.evaluate({ x: 1 }, { index: 1, time: 1 }));
  });
});

describe('regex guard', () => {
  it('accepts ordinary patterns and refuses catastrophic or unsupported ones', () => {
    for (const ok of ['^net\\s+user', '(\\d{1,3}\\.){3}\\d{1,3}', 'foo|bar', '(ab)+c', '[(+*]+', 'a{2,5}b', '(?i)evil']) expect(regexProblem(ok), ok).toBeNull();
    for (const bad of ['(a+)+', '(a*)*b', '((ab)+c)+', '(x+y?)*', '(a{1,}){2,}', '(a)\\1', 'x(?!y)', '(?<=a)b', '(?>a)', '(a', 'a)']) expect(regexProblem(bad), bad).not.toBeNull();
  });

  it('long values are matched on their first 16 KiB only (bounded work per event)', () => {
    const set = compileRuleSet(parseRules('title: t\nid: r\ndetection: { sel: { v|re: "evil$" }, condition: sel }'));
    expect(set.evaluate({ v: `${'x'.repeat(100_000)}evil` }, { index: 0, time: 0 })).toEqual([]);
    expect(set.evaluate({ v: 'x evil' }, { index: 0, time: 0 })).toHaveLength(1);
  });
});

type Cond = { t: 'id'; n: number } | { t: 'not'; a: Cond } | { t: 'and' | 'or'; a: Cond; b: Cond } | { t: 'of'; all: boolean; group: 'x' | 'y' };
const IDS = ['x_0', 'x_1', 'y_0', 'y_1'];

function render(c: Cond): string {
  switch (c.t) {
    case 'id': return IDS[c.n]!;
    case 'not': return `not ${render(c.a)}`;
    case 'of': return `${c.all ? 'all' : '1'} of ${c.group}_*`;
    default: return `(${render(c.a)} ${c.t} ${render(c.b)})`;
  }
}

function reference(c: Cond, v: boolean[]): boolean {
  switch (c.t) {
    case 'id': return v[c.n]!;
    case 'not': return !reference(c.a, v);
    case 'and': return reference(c.a, v) && reference(c.b, v);
    case 'or': return reference(c.a, v) || reference(c.b, v);
    case 'of': {
      const vals = IDS.map((id, i) => (id.startsWith(c.group) ? v[i]! : null)).filter((x) => x !== null);
      return c.all ? vals.every(Boolean) : vals.some(Boolean);
    }
  }
}

const cond: fc.Arbitrary<Cond> = fc.letrec<{ c: Cond }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('id' as const), n: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ t: fc.constant('of' as const), all: fc.boolean(), group: fc.constantFrom('x' as const, 'y' as const) }),
    fc.record({ t: fc.constant('not' as const), a: tie('c') }),
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), a: tie('c'), b: tie('c') }),
  ),
})).c;

describe('properties', () => {
  it('condition evaluation equals a reference boolean evaluator', () => {
    fc.assert(fc.property(cond, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (c, v) => {
      const detection = IDS.map((id, i) => `    ${id}: { f${i}: 'yes' }`).join('\n');
      const set = compileRuleSet(parseRules(`title: p\nid: p\ndetection:\n${detection}\n    condition: "${render(c)}"`));
      const event = Object.fromEntries(v.map((b, i) => [`f${i}`, b ? 'YES' : 'no']));
      expect(set.evaluate(event, { index: 0, time: 0 }).length === 1).toBe(reference(c, v));
    }), { numRuns: 300 });
  });

  it('any JSON event evaluates without throwing', () => {
    const set = compileRuleSet(parseRules(`${BRUTE}\n---\ntitle: k\nid: k\ndetection: { kw: [evil], sel: { a.b|re: 'x+', c|cidr: 10.0.0.0/8, d|gt: 3 }, condition: kw or sel }`));
    fc.assert(fc.property(fc.jsonValue(), fc.integer(), (v, t) => {
      const event = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : { a: v, c: v, d: v, outcome: v };
      set.evaluate(event, { index: 0, time: t });
    }), { numRuns: 300 });
  });
});

/** Reference Sigma wildcard matching: its own escape parser and a dynamic-programming glob match (no RegExp). */
function referenceMatch(pattern: string, value: string): boolean {
  const toks: Array<{ lit?: string; star?: true; one?: true }> = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const n = pattern[i + 1];
    if (c === '\\' && (n === '*' || n === '?' || n === '\\')) {
      toks.push({ lit: n });
      i++;
    } else if (c === '*') toks.push({ star: true });
    else if (c === '?') toks.push({ one: true });
    else toks.push({ lit: c });
  }
  const v = value.toLowerCase();
  // can[i][j]: the first i tokens match the first j characters
  let row = new Array<boolean>(v.length + 1).fill(false);
  row[0] = true;
  for (const t of toks) {
    const next = new Array<boolean>(v.length + 1).fill(false);
    for (let j = 0; j <= v.length; j++) {
      if (t.star) next[j] = row[j]! || (j > 0 && next[j - 1]!);
      else if (j > 0 && row[j - 1] && (t.one || t.lit!.toLowerCase() === v[j - 1])) next[j] = true;
    }
    row = next;
  }
  return row[v.length]!;
}

describe('wildcard matching property', () => {
  it('plain values with *, ? and escapes match exactly as a reference glob matcher does (all fast paths)', () => {
    const pat = fc.array(fc.constantFrom('a', 'B', '*', '?', '\\', '\\*', '\\\\'), { maxLength: 7 }).map((a) => a.join(''));
    const val = fc.array(fc.constantFrom('a', 'b', 'A', '*', '?', '\\'), { maxLength: 8 }).map((a) => a.join(''));
    fc.assert(fc.property(pat, fc.array(val, { minLength: 1, maxLength: 5 }), (p, values) => {
      const set = compileRuleSet(parseRules(`title: w\nid: w\ndetection:\n  sel:\n    f: ${JSON.stringify(p)}\n  condition: sel`));
      for (const v of values) expect(set.evaluate({ f: v }, { index: 0, time: 0 }).length === 1, `${JSON.stringify(p)} vs ${JSON.stringify(v)}`).toBe(referenceMatch(p, v));
    }), { numRuns: 500 });
  });
});

describe('prefilter property', () => {
  it('selecting rules by their required field never changes the alerts', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('./testdata/bench-pack.yml', import.meta.url), 'utf8');
    const rules = parseRules(text, 'bench-pack.yml');
    const word = fc.constantFrom('auth.login', 'AUTH.LOGIN', 'mfa.disable', 'role.grant', 'key.destroy', 'settings.tls.update', 'tenant.cross_tenant_probe', 'access_request.approve', 'x');
    const event = fc.record({
      class_uid: fc.constantFrom(3002, '3002', 6005, 1),
      activity_id: fc.constantFrom(2, '2', 3),
      status: fc.constantFrom('Failure', 'success', 'FAILURE'),
      custos: fc.record({ action: fc.oneof(word, fc.array(word, { maxLength: 2 })) }),
      actor: fc.record({ user: fc.record({ uid: fc.constantFrom('u1', 'u2') }) }),
      resources: fc.array(fc.record({ type: fc.constantFrom('key', 'KEY', 'role'), uid: fc.constantFrom('u1', 'r1') }), { maxLength: 2 }),
      src_endpoint: fc.record({ ip: fc.constantFrom('185.220.101.4', '10.0.0.1') }),
      time: fc.constantFrom('2026-11-28T03:00:00Z', '2026-11-28T12:00:00Z'),
    });
    fc.assert(fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), (events) => {
      const on = compileRuleSet(rules);
      const off = compileRuleSet(rules, { prefilter: false });
      events.forEach((e, i) => {
        expect(on.evaluate(e, { index: i, time: i * 1000 })).toEqual(off.evaluate(e, { index: i, time: i * 1000 }));
      });
    }), { numRuns: 200 });
  });
});

describe('filters', () => {
  it('refuses malformed filters with SIEM_RULE_INVALID naming the path, and leaves rule files to parseRules', () => {
    const bad: Array<[string, string]> = [
      ['title: f\nfilter: { rules: [a], sel: { x: 1 }, condition: not sel }', 'logsource'],
      ['title: f\nlogsource: { product: p }\nfilter: { sel: { x: 1 }, condition: not sel }', 'filter.rules'],
      ['title: f\nlogsource: { product: p }\nfilter: { rules: any, sel: { x|bogus: 1 }, condition: not sel }', 'filter.sel.x|bogus'],
      ['title: f\nlogsource: { product: p }\nfilter: { rules: any, sel: { x: 1 }, condition: not other }', 'filter.condition'],
    ];
    for (const [text, path] of bad) {
      const err = thrown(() => parseFilters(text, 'f.yml'));
      expect(isCustosError(err) && err.code, text).toBe('SIEM_RULE_INVALID');
      if (isCustosError(err)) expect(err.extensions?.path, text).toBe(path);
    }
    expect(() => parseRules('title: f\nlogsource: {}\nfilter: { rules: any, s: { a: 1 }, condition: s }')).toThrow(/parseFilters/);
  });
});
