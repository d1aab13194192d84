/**
 * Synthetic Custos audit traffic for rule-pack tests: events built by the
 * real event builder (src/audit/events.ts) and, for external events, by the
 * real ingestion normaliser, so the pack sees exactly the shapes Custos stores.
 * `normalTraffic` is a deterministic working week of a small SaaS: logins
 * with occasional single failures, purpose-bound reads, record writes, admin
 * work in office hours, erasures, verification runs and benign firewall logs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ACTIVITY, buildEvent, OCSF, type AuditEventInput, type OcsfEvent } from '../../src/audit/index.js';
import { normalizeJson, toAuditInput } from '../../src/siem/ingest/index.js';
import { compileRuleSet, parsePipeline, parseRules, type RuleSet, type SigmaMatch } from '../../src/siem/sigma/index.js';

export const PACK_DIR = path.resolve(import.meta.dirname, '../../rules/sigma');
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** The built-in pack as the runtime loads it (every *.yml beside pipeline.yml), compiled with its pipeline. */
export function loadPack(pipelineText = readFileSync(path.join(PACK_DIR, 'pipeline.yml'), 'utf8')): RuleSet {
  const files = readdirSync(PACK_DIR).filter((f) => f.endsWith('.yml') && f !== 'pipeline.yml').sort();
  const rules = files.flatMap((f) => parseRules(readFileSync(path.join(PACK_DIR, f), 'utf8'), f));
  return compileRuleSet(rules, { mapping: parsePipeline(pipelineText) });
}

export interface Traffic {
  event: OcsfEvent;
  time: number;
}

export type ActorRef = { type: string; id: string };
let seq = 0;

/** One stored Custos event, as the recorder would build it. */
export function ev(input: AuditEventInput, at: number, actor: ActorRef, ip: string | null = null): Traffic {
  const event = buildEvent(input, { eventId: `ev-${++seq}`, time: new Date(at), actor, requestId: `req-${seq}`, sourceIp: ip });
  return { event, time: at };
}

/** One ingested external event (OCSF/ECS JSON) as POST /api/v1/events stores it; throws if ingestion would refuse it. */
export function external(doc: unknown, at: number, tenantId: string | null, actor: ActorRef, ip = '192.0.2.10'): Traffic {
  const r = normalizeJson(doc, new Date(at));
  if (!r.ok) throw new Error(`ingestion refuses the test event: ${r.problem.code} ${r.problem.detail}`);
  return ev(toAuditInput(r.event, tenantId, 'api'), at, actor, ip);
}

/** Evaluates events in order (index = position + `from`); returns every match. */
export function run(set: RuleSet, events: readonly Traffic[], from = 0): SigmaMatch[] {
  const out: SigmaMatch[] = [];
  events.forEach((t, i) => out.push(...set.evaluate(t.event, { index: from + i, time: t.time })));
  return out;
}

/** Merges time-ordered streams (stable). */
export function merge(...streams: Traffic[][]): Traffic[] {
  return streams.flat().sort((a, b) => a.time - b.time);
}

// ---- builders for the actions Custos emits (same classes, kinds and details as the services) ----

export const login = (ok: boolean, account: string, tenant: string | null, reason = 'credentials'): AuditEventInput =>
  ok
    ? { classUid: OCSF.AUTHENTICATION, activityId: 1, action: 'auth.login', kind: 'auth', outcome: 'success', severity: 'informational', tenantId: tenant, target: { type: 'session', id: `s-${account}-${seq}` }, details: { accountId: account, method: 'password', next: 'active' } }
    : { classUid: OCSF.AUTHENTICATION, activityId: 1, action: 'auth.login', kind: 'security', outcome: 'failure', severity: 'low', tenantId: tenant, target: { type: 'account', id: account }, details: { reason } };
export const vaultRead = (tenant: string, collection: string, reason: string, records: string[]): AuditEventInput => ({
  classUid: OCSF.DATASTORE_ACTIVITY, activityId: ACTIVITY.READ, action: 'vault.record.read', kind: 'access', outcome: 'success', tenantId: tenant,
  target: { type: 'record', id: records[0] ?? 'none' }, details: { collection, reason, requested: ['email', 'name'], returned: ['email', 'name'], records, erased: [] },
});
export const vaultWrite = (tenant: string, action: 'create' | 'update', record: string): AuditEventInput => ({
  classUid: OCSF.ENTITY_MANAGEMENT, activityId: action === 'create' ? ACTIVITY.CREATE : ACTIVITY.UPDATE, action: `vault.record.${action}`, kind: 'change', outcome: 'success', tenantId: tenant,
  target: { type: 'record', id: record }, details: { collection: 'customers', fields: ['email', 'name'] },
});
export const accessRequest = (action: 'create' | 'approve', id: string, requester: string, tenant: string | null): AuditEventInput => ({
  classUid: OCSF.USER_ACCESS_MANAGEMENT, activityId: action === 'approve' ? 1 : 99, action: `access_request.${action}`, kind: 'security', outcome: 'success', severity: action === 'approve' ? 'medium' : 'low',
  tenantId: tenant, target: { type: 'access_request', id }, details: { requester, role: 'support', purposes: 'support', minutes: 60 },
});
export const probe = (tenant: string, type: string, id: string, reason = 'object not found in the tenant scope'): AuditEventInput => ({
  classUid: OCSF.API_ACTIVITY, activityId: ACTIVITY.READ, action: 'tenant.cross_tenant_probe', kind: 'security', outcome: 'failure', severity: 'medium', tenantId: tenant, target: { type, id }, details: { reason },
});
export const keyDestroy = (tenant: string, scope: 'subject' | 'tenant', id: string): AuditEventInput => ({
  classUid: OCSF.ENTITY_MANAGEMENT, activityId: ACTIVITY.DELETE, action: 'key.destroy', kind: 'change', outcome: 'success', severity: 'high', tenantId: tenant,
  target: { type: scope, id }, details: { scope, ledgerId: `l-${id}`, keyIds: [`k-${id}`], reason: 'erasure request' },
});
export const simple = (action: string, classUid: number, activityId: number, kind: AuditEventInput['kind'], tenant: string | null, target: { type: string; id: string }, details: AuditEventInput['details'] = {}, outcome: 'success' | 'failure' = 'success'): AuditEventInput => ({
  classUid, activityId, action, kind, outcome, tenantId: tenant, target, details,
});

// ---- benign external events: firewall traffic logs ----

export const ecsFirewallTraffic = (at: number, allowed: boolean, src: string, dst: string) => ({
  '@timestamp': new Date(at).toISOString(), ecs: { version: '8.11.0' },
  event: { category: ['network'], type: [allowed ? 'allowed' : 'denied', 'connection'], action: allowed ? 'accept' : 'deny', outcome: 'success', module: 'fortinet' },
  observer: { type: 'firewall', vendor: 'Fortinet', product: 'FortiGate', hostname: 'fw-edge-1' },
  source: { ip: src }, destination: { ip: dst, port: 443 }, message: `action=${allowed ? 'accept' : 'deny'} proto=6 dstport=443`,
});
export const ocsfNetworkTraffic = (at: number, src: string, dst: string) => ({
  class_uid: 4001, activity_id: 6, time: at, status_id: 1, severity_id: 1, activity_name: 'Traffic',
  metadata: { version: '1.3.0', product: { name: 'VPC Flow Logs', vendor_name: 'AWS' } }, device: { type: 'Firewall' },
  src_endpoint: { ip: src }, dst_endpoint: { ip: dst }, message: 'ACCEPT',
});

// ---- the normal week ----

/** Mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface Population {
  tenants: string[];
  users: Array<{ id: string; tenant: string; ip: string }>;
  staff: Array<{ id: string; ip: string; role: 'admin' | 'support' | 'analyst' }>;
  keys: Array<{ id: string; tenant: string; ip: string }>;
}

export function population(): Population {
  const tenants = ['t-acme', 't-globex', 't-initech'];
  const users = tenants.flatMap((tenant, ti) =>
    // Each tenant's office: one NAT address per tenant, plus some people at home.
    Array.from({ length: 8 }, (_, i) => ({ id: `u-${tenant}-${i}`, tenant, ip: i < 5 ? `198.51.${100 + ti}.10` : `203.0.${ti}.${20 + i}` })),
  );
  const staff = [
    { id: 'staff-admin-1', ip: '192.0.2.21', role: 'admin' as const },
    { id: 'staff-admin-2', ip: '192.0.2.22', role: 'admin' as const },
    { id: 'staff-support-1', ip: '192.0.2.31', role: 'support' as const },
    { id: 'staff-analyst-1', ip: '192.0.2.41', role: 'analyst' as const },
  ];
  const keys = tenants.flatMap((tenant, ti) => [0, 1].map((k) => ({ id: `key-${tenant}-${k}`, tenant, ip: `10.${ti}.${k}.5` })));
  return { tenants, users, staff, keys };
}

/** Monday 2030-01-07 00:00 UTC. */
export const WEEK_START = Date.parse('2030-01-07T00:00:00Z');

const isOffice = (at: number) => {
  const d = new Date(at);
  return d.getUTCDay() >= 1 && d.getUTCDay() <= 5 && d.getUTCHours() >= 8 && d.getUTCHours() < 18;
};

/** `count` events of an ordinary week (or more), hour by hour from `start`, deterministic for a seed. */
export function normalTraffic(count = 10_000, seed = 7, start = WEEK_START): Traffic[] {
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const pop = population();
  const out: Traffic[] = [];
  let n = 0;
  for (let hour = 0; out.length < count; hour++) {
    const base = start + hour * HOUR;
    const office = isOffice(base + 1);
    const at = () => base + Math.floor(rnd() * HOUR);
    // Applications read and write around the clock (a steady 10–25 reads per key per hour).
    for (const k of pop.keys) {
      const actor = { type: 'api_key', id: k.id };
      for (let i = 10 + Math.floor(rnd() * 15); i > 0; i--) out.push(ev(vaultRead(k.tenant, 'customers', 'app_functionality', [`r-${++n}`]), at(), actor, k.ip));
      for (let i = Math.floor(rnd() * 6); i > 0; i--) out.push(ev(vaultWrite(k.tenant, rnd() < 0.5 ? 'create' : 'update', `r-${++n}`), at(), actor, k.ip));
      if (rnd() < 0.02) out.push(ev(probe(k.tenant, 'record', `stale-${++n}`), at(), actor, k.ip));
    }
    // Firewall and flow logs, ingested around the clock.
    for (let i = 4 + Math.floor(rnd() * 6); i > 0; i--) {
      const t = at();
      const src = `203.0.113.${1 + Math.floor(rnd() * 200)}`;
      out.push(rnd() < 0.7 ? external(ecsFirewallTraffic(t, rnd() < 0.85, src, '10.0.0.10'), t, null, { type: 'system', id: 'syslog-ingest:fw' }) : external(ocsfNetworkTraffic(t, src, '10.0.0.11'), t, null, { type: 'api_key', id: 'key-platform-flows' }));
    }
    if (office) officeHour(out, pop, rnd, pick, at, () => ++n);
    else if (rnd() < 0.1) {
      // Someone checks in in the evening.
      const u = pick(pop.users);
      out.push(ev(login(true, u.id, u.tenant), at(), { type: 'anonymous', id: 'anonymous' }, u.ip));
    }
    if (hour % 24 === 3) out.push(ev(simple('audit.verify', OCSF.API_ACTIVITY, ACTIVITY.OTHER, 'system', null, { type: 'audit_log', id: 'custos.local/audit' }, { size: 1000 + hour, floor: 0 }), base + 5 * MINUTE, { type: 'system', id: 'audit-verify' }));
  }
  return out.sort((a, b) => a.time - b.time).slice(0, count);
}

function officeHour(out: Traffic[], pop: Population, rnd: () => number, pick: <T>(l: readonly T[]) => T, at: () => number, next: () => number): void {
  const anon = { type: 'anonymous', id: 'anonymous' };
  for (const u of pop.users) {
    if (rnd() > 0.35) continue;
    const t = at();
    // An occasional mistyped password (once), or a mistyped email (an unknown account reference).
    if (rnd() < 0.04) out.push(ev(login(false, u.id, u.tenant), t - 20_000, anon, u.ip));
    if (rnd() < 0.01) out.push(ev(login(false, `ref-${next()}`, u.tenant), t - 40_000, anon, u.ip));
    out.push(ev(login(true, u.id, u.tenant), t, anon, u.ip));
    const actor = { type: 'user', id: u.id };
    for (let i = 1 + Math.floor(rnd() * 8); i > 0; i--) out.push(ev(vaultRead(u.tenant, pick(['customers', 'tickets']), pick(['app_functionality', 'support']), [`r-${next()}`]), t + i * 30_000, actor, u.ip));
    if (rnd() < 0.5) out.push(ev(vaultWrite(u.tenant, 'update', `r-${next()}`), t + 5 * MINUTE, actor, u.ip));
    if (rnd() < 0.01) out.push(ev(probe(u.tenant, 'record', `old-link-${next()}`), t + 6 * MINUTE, actor, u.ip));
    if (rnd() < 0.1) out.push(ev(simple('auth.logout', OCSF.AUTHENTICATION, 2, 'auth', u.tenant, { type: 'session', id: `s-${u.id}` }, { accountId: u.id }), t + 30 * MINUTE, actor, u.ip));
  }
  const admin = pick(pop.staff.filter((s) => s.role === 'admin'));
  const adminActor = { type: 'user', id: admin.id };
  const t = at();
  if (rnd() < 0.5) {
    out.push(ev(login(true, admin.id, null), t, anon, admin.ip));
    out.push(ev(simple('auth.mfa', OCSF.AUTHENTICATION, 1, 'auth', null, { type: 'account', id: admin.id }, { method: 'totp' }), t + 20_000, anon, admin.ip));
  }
  if (rnd() < 0.15) {
    const tenant = pick(pop.tenants);
    out.push(ev(simple('invitation.create', OCSF.ACCOUNT_CHANGE, ACTIVITY.CREATE, 'change', tenant, { type: 'invitation', id: `inv-${next()}` }, { roles: ['member'] }), t + MINUTE, adminActor, admin.ip));
    const acct = `u-new-${next()}`;
    out.push(ev(simple('account.create', OCSF.ACCOUNT_CHANGE, ACTIVITY.CREATE, 'change', tenant, { type: 'account', id: acct }, { via: 'invitation', roles: ['member'] }), t + 30 * MINUTE, { type: 'user', id: acct }, '203.0.113.250'));
    out.push(ev(simple('mfa.totp.enrol', OCSF.ACCOUNT_CHANGE, ACTIVITY.UPDATE, 'security', null, { type: 'account', id: acct }), t + 32 * MINUTE, { type: 'user', id: acct }, '203.0.113.250'));
  }
  if (rnd() < 0.1) {
    // Support asks for a grant; another admin approves it (office hours, not the requester).
    const support = pop.staff.find((s) => s.role === 'support')!;
    const id = `ar-${next()}`;
    const tenant = pick(pop.tenants);
    out.push(ev(accessRequest('create', id, support.id, tenant), t + 2 * MINUTE, { type: 'user', id: support.id }, support.ip));
    out.push(ev(accessRequest('approve', id, support.id, tenant), t + 4 * MINUTE, adminActor, admin.ip));
  }
  if (rnd() < 0.08) {
    const tenant = pick(pop.tenants);
    out.push(ev(keyDestroy(tenant, 'subject', `subj-${next()}`), t + 3 * MINUTE, { type: 'user', id: `u-${tenant}-0` }, '198.51.100.10'));
  }
  if (rnd() < 0.05) out.push(ev(simple('api_key.create', OCSF.ENTITY_MANAGEMENT, ACTIVITY.CREATE, 'change', pick(pop.tenants), { type: 'api_key', id: `key-${next()}` }, { permissions: ['records:read'], purposes: ['app_functionality'] }), t + 6 * MINUTE, adminActor, admin.ip));
}
