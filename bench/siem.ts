import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { compileRuleSet, parsePipeline, parseRules, type FieldMapping, type SigmaRule } from '../src/siem/sigma/index.js';
import { BENCH_DIR, header, row } from './lib.js';

/**
 * Issue 7: events/s through the Sigma engine (JSON.parse + evaluate) with the
 * whole built-in pack enabled, beside a loop that only JSON.parses the same
 * events, in the same run, on one core. Goal ≥ 50,000 events/s. Uses
 * rules/sigma/*.yml (+ pipeline.yml) when present, else a stand-in pack.
 */
const ROOT = path.join(BENCH_DIR, '..');

function loadPack(): { rules: SigmaRule[]; mapping: FieldMapping | undefined; from: string } {
  const dir = path.join(ROOT, 'rules/sigma');
  if (existsSync(dir)) {
    const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'pipeline.yml').sort();
    if (files.length > 0) {
      const rules = files.flatMap((f) => parseRules(readFileSync(path.join(dir, f), 'utf8'), f));
      const pipe = path.join(dir, 'pipeline.yml');
      return { rules, mapping: existsSync(pipe) ? parsePipeline(readFileSync(pipe, 'utf8')) : undefined, from: 'rules/sigma' };
    }
  }
  const text = readFileSync(path.join(ROOT, 'src/siem/sigma/testdata/bench-pack.yml'), 'utf8');
  return { rules: parseRules(text, 'bench-pack.yml'), mapping: undefined, from: 'stand-in pack' };
}

/** A deterministic generator (mulberry32), so every run sees the same traffic. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MIX: Array<[number, string, number, number, string?]> = [
  // weight, action, class_uid, activity_id, status: roughly a busy tenant's day (the pack's actions included)
  [36, 'auth.login', 3002, 1, 'Success'],
  [4, 'auth.login', 3002, 1, 'Failure'],
  [26, 'vault.record.read', 6005, 2],
  [8, 'vault.record.update', 6005, 3],
  [6, 'external.event', 6003, 99],
  [5, 'tenant.update', 3004, 3],
  [4, 'session.revoke', 3003, 4],
  [3, 'role.grant', 3005, 1],
  [2, 'access_request.approve', 3005, 3],
  [2, 'settings.tls.update', 6003, 3],
  [1, 'mfa.totp.remove', 3001, 4],
  [1, 'tenant.cross_tenant_probe', 6003, 2],
  [1, 'audit.verify', 6003, 99],
  [1, 'vault.collection.export', 6005, 2],
];

const SOURCE = { format: 'syslog', category: 'network', type: 'firewall', action: 'allow', product: 'pfsense', app: 'filterlog', host: 'fw1', message: 'filterlog: 5,,,1000000103,igb0,match,pass,in,4,0x0,,64' };

/** `n` Custos-shaped OCSF audit events as JSON lines, one per 50 ms of event time. */
function generate(n: number): string[] {
  const r = rng(7);
  const total = MIX.reduce((s, m) => s + m[0], 0);
  const uid = (k: number) => `01900000-0000-7000-8000-${String(k).padStart(12, '0')}`;
  const out: string[] = [];
  const t0 = Date.UTC(2026, 10, 28, 8);
  for (let i = 0; i < n; i++) {
    let pick = r() * total;
    const m = MIX.find((x) => (pick -= x[0]) < 0) ?? MIX[0]!;
    const time = t0 + i * 50;
    const actor = uid(Math.floor(r() * 500));
    out.push(JSON.stringify({
      metadata: { version: '1.3.0', uid: uid(1_000_000 + i), product: { name: 'Custos', vendor_name: 'Custos' } },
      class_uid: m[2], activity_id: m[3], type_uid: m[2] * 100 + m[3], time, time_dt: new Date(time).toISOString(),
      status: m[4] ?? 'Success', status_id: m[4] === 'Failure' ? 2 : 1, severity_id: 1,
      actor: { user: { type: 'user', uid: actor } },
      api: { request: { uid: `req-${i.toString(16).padStart(16, '0')}` } },
      src_endpoint: { ip: `198.51.${Math.floor(r() * 4)}.${Math.floor(r() * 250)}` },
      tenant_uid: uid(Math.floor(r() * 50)),
      resources: [{ type: m[1].split('.')[0]!, uid: r() < 0.01 ? actor : uid(2_000_000 + Math.floor(r() * 10_000)) }],
      custos: { action: m[1], kind: m[2] === 3002 ? 'auth' : 'change' },
      unmapped: m[1] === 'external.event' ? { source: SOURCE } : { fields: ['name', 'email'], count: 2, reason: m[4] === 'Failure' ? 'credentials' : undefined },
    }));
  }
  return out;
}

/**
 * Runs `body` over the items repeatedly for `seconds` of wall time; returns
 * events per CPU-second of this process (user + system). On a shared box CPU
 * time, not wall time, is what one core actually spent.
 */
function measure<T>(items: T[], seconds: number, body: (item: T) => void): number {
  const until = performance.now() + seconds * 1000;
  const cpu = process.cpuUsage();
  let done = 0;
  while (performance.now() < until) {
    for (let i = 0; i < items.length; i++) body(items[i]!);
    done += items.length;
  }
  const used = process.cpuUsage(cpu);
  return done / ((used.user + used.system) / 1e6);
}

export async function benchSiem(seconds: number): Promise<void> {
  const pack = loadPack();
  const lines = generate(20_000);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { time: number });
  const set = compileRuleSet(pack.rules, pack.mapping ? { mapping: pack.mapping } : {});
  let alerts = 0;
  let sink = 0;
  // One stream across all passes: log indexes and event times keep advancing, so windows slide as live.
  let index = 0;
  const span = 20_000 * 50;
  const feed = (e: Record<string, unknown> & { time: number }): void => {
    alerts += set.evaluate(e, { index, time: e.time + Math.floor(index / lines.length) * span }).length;
    index++;
  };
  const slice = seconds / 3;
  const parseOnly = () => measure(lines, slice / 2, (l) => { sink += (JSON.parse(l) as { time: number }).time & 1; });
  const engine = () => measure(lines, slice / 2, (l) => feed(JSON.parse(l) as Record<string, unknown> & { time: number }));
  const evaluateOnly = () => measure(parsed, slice / 2, feed);
  parseOnly(); // warm-up
  const rates = { parse: 0, engine: 0, evaluate: 0 };
  for (let round = 0; round < 2; round++) {
    rates.parse = Math.max(rates.parse, parseOnly());
    rates.engine = Math.max(rates.engine, engine());
    rates.evaluate = Math.max(rates.evaluate, evaluateOnly());
  }
  header(`siem: Sigma engine, ${pack.rules.length} rules (${pack.from}), one core, per CPU-second (best of 2)`);
  console.log(row('events/s, JSON.parse + evaluate (the whole pack)', rates.engine.toFixed(0), rates.parse.toFixed(0), rates.engine / rates.parse));
  console.log(row('events/s, evaluate alone (events parsed beforehand)', rates.evaluate.toFixed(0), rates.parse.toFixed(0), rates.evaluate / rates.parse));
  console.log(row('µs per event in evaluate', (1e6 / rates.evaluate).toFixed(2)));
  console.log(row('alerts raised during the run', String(alerts)));
  console.log(row('goal: ≥ 50,000 events/s through the engine', rates.engine >= 50_000 ? 'met' : 'NOT met'));
  if (sink < 0) console.log(sink);
}
