import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ACTIVITY, OCSF } from '../src/audit/index.js';
import { fromSyslog, parseSyslog, toAuditInput } from '../src/siem/ingest/index.js';
import {
  accessRequest, ev, external, HOUR, keyDestroy, loadPack, login, merge, MINUTE, normalTraffic, PACK_DIR, probe, run, simple, vaultRead, WEEK_START, type Traffic,
} from './helpers/siem-traffic.js';

/** Rule ids of the pack, by file and title (the test names them; the YAML is the source of truth). */
const ID = {
  bruteForce: 'ad6c18a1-25a2-4600-85a7-f13ba576f3af',
  spraying: '7d165cec-de6a-4e9d-ac07-7ca554c9bc51',
  successAfterFailures: 'f9481e6a-d7e2-44e4-9fc8-24f51907a970',
  mfaWeakened: '0994a913-3c5e-400b-9d7c-1dad19de0a5e',
  selfApproval: 'e710dc9f-382c-49bf-95f6-c3ee3ff6230b',
  grantOutsidePaths: 'e8ed40bd-003d-46e4-999c-38845ee03398',
  offHoursApproval: '5b5263c2-d8cb-41b4-b5e3-8346831b055f',
  probing: 'a701792c-1904-43dd-8752-511d3f2da59d',
  apiKeyOtherTenant: '44b0bd99-4085-40e5-bf0a-4603f5475fbd',
  massReadBaseline: 'd5fb2ebf-a510-4325-b3d8-1e76687a04ca',
  massReadCeiling: 'baffc1ee-3929-4a44-aabe-0b17fad5c30a',
  networkControl: 'e9478622-544d-4977-9610-abd0309b0a46',
  securityControl: '6d3c47fc-bd05-4e3a-8e64-9f85a8d65527',
  auditIntegrity: '2f775de2-264e-4e86-b7db-c724d91bea49',
  tenantShred: '466d39c4-4fd6-4861-9332-54d186e98daa',
  massSubjectShred: '76dc5c4a-9776-4396-9094-dbe9cf95eb48',
  apiKeyNewNetwork: '32273888-ff72-4805-b0d9-3ec1e5735b6f',
} as const;

const anon = { type: 'anonymous', id: 'anonymous' };
const user = (id: string) => ({ type: 'user', id });
const WED_10 = WEEK_START + 2 * 24 * HOUR + 10 * HOUR;
const repeat = (n: number, f: (i: number) => Traffic) => Array.from({ length: n }, (_, i) => f(i));

function syslogEvent(line: string, at: number): Traffic {
  const parsed = parseSyslog(line);
  if (!parsed.ok) throw new Error(parsed.problem.detail);
  const n = fromSyslog(parsed.message, new Date(at));
  if (!n.ok) throw new Error(n.problem.detail);
  return ev(toAuditInput(n.event, null, 'syslog'), at, { type: 'system', id: 'syslog-ingest' }, '192.0.2.99');
}

interface Attack {
  name: string;
  events: (t0: number) => Traffic[];
  /** Rule id → how many times it fires. */
  fires: Partial<Record<keyof typeof ID, number>>;
  /** rate_deviation needs the actor's history: only checked inside normal traffic. */
  needsHistory?: boolean;
  at?: number;
}

const ATTACKS: Attack[] = [
  {
    name: 'brute force: 12 wrong passwords on one account in 5 minutes',
    events: (t0) => repeat(12, (i) => ev(login(false, 'u-t-acme-ceo', 't-acme'), t0 + i * 25_000, anon, '45.10.0.1')),
    fires: { bruteForce: 1 },
  },
  {
    name: 'password spraying: one address, one guess each on 6 accounts',
    events: (t0) => repeat(6, (i) => ev(login(false, `u-t-globex-${i}`, 't-globex'), t0 + i * 3 * MINUTE, anon, '45.10.0.2')),
    fires: { spraying: 1 },
  },
  {
    name: 'success after failures: 6 failures, then the right password',
    events: (t0) => [...repeat(6, (i) => ev(login(false, 'u-t-initech-6', 't-initech'), t0 + i * MINUTE, anon, '45.10.0.3')), ev(login(true, 'u-t-initech-6', 't-initech'), t0 + 20 * MINUTE, anon, '45.10.0.3')],
    fires: { successAfterFailures: 1 },
  },
  {
    name: 'MFA weakened: a passkey removed, recovery codes regenerated',
    events: (t0) => [
      ev(simple('mfa.webauthn.remove', OCSF.ACCOUNT_CHANGE, ACTIVITY.UPDATE, 'security', null, { type: 'account', id: 'u-t-acme-1' }, { credential: 'c1' }), t0, user('u-t-acme-1'), '45.10.0.4'),
      ev(simple('mfa.recovery_codes.regenerate', OCSF.ACCOUNT_CHANGE, ACTIVITY.UPDATE, 'security', null, { type: 'account', id: 'u-t-acme-1' }), t0 + MINUTE, user('u-t-acme-1'), '45.10.0.4'),
    ],
    fires: { mfaWeakened: 2 },
  },
  {
    name: 'self-approved access request',
    events: (t0) => [ev(accessRequest('create', 'ar-x', 'staff-support-1', 't-acme'), t0, user('staff-support-1')), ev(accessRequest('approve', 'ar-x', 'staff-support-1', 't-acme'), t0 + MINUTE, user('staff-support-1'))],
    fires: { selfApproval: 1 },
  },
  {
    name: 'roles granted by an API key, and an account created outside invitation and setup',
    events: (t0) => [
      ev(simple('invitation.create', OCSF.ACCOUNT_CHANGE, ACTIVITY.CREATE, 'change', 't-acme', { type: 'invitation', id: 'inv-x' }, { roles: ['owner'] }), t0, { type: 'api_key', id: 'key-t-acme-0' }, '10.0.0.5'),
      ev(simple('account.create', OCSF.ACCOUNT_CHANGE, ACTIVITY.CREATE, 'change', 't-acme', { type: 'account', id: 'u-x' }, { via: 'sql', roles: ['owner'] }), t0 + MINUTE, { type: 'system', id: 'unknown' }),
    ],
    fires: { grantOutsidePaths: 2 },
  },
  {
    name: 'access request approved at 22:30 UTC',
    at: WEEK_START + 2 * 24 * HOUR + 22 * HOUR + 30 * MINUTE,
    events: (t0) => [ev(accessRequest('create', 'ar-late', 'staff-support-1', 't-globex'), t0 - 5 * MINUTE, user('staff-support-1')), ev(accessRequest('approve', 'ar-late', 'staff-support-1', 't-globex'), t0, user('staff-admin-1'))],
    fires: { offHoursApproval: 1 },
  },
  {
    name: "cross-tenant probing: a member enumerates another tenant's record ids",
    events: (t0) => repeat(4, (i) => ev(probe('t-globex', 'record', `guess-${i}`, 'actor belongs to another tenant'), t0 + i * 30_000, user('u-t-acme-5'), '203.0.0.25')),
    fires: { probing: 1 },
  },
  {
    name: 'an API key names another tenant',
    events: (t0) => [ev(probe('t-initech', 'tenant', 't-initech', 'actor belongs to another tenant'), t0, { type: 'api_key', id: 'key-t-acme-1' }, '10.0.1.5')],
    fires: { apiKeyOtherTenant: 1 },
  },
  {
    name: "mass reads: an application key reads 300 records in an hour against its baseline of ~20",
    at: WEEK_START + 3 * 24 * HOUR + 14 * HOUR,
    needsHistory: true,
    events: (t0) => repeat(300, (i) => ev(vaultRead('t-acme', 'customers', 'app_functionality', [`x-${i}`]), t0 + i * 10_000, { type: 'api_key', id: 'key-t-acme-0' }, '10.0.0.5')),
    fires: { massReadBaseline: 1 },
  },
  {
    name: 'an application key used from a new /24 network (another host in its own /24 is not new)',
    at: WEEK_START + 3 * 24 * HOUR + 15 * HOUR,
    needsHistory: true,
    events: (t0) => [
      ev(vaultRead('t-acme', 'customers', 'app_functionality', ['n-1']), t0, { type: 'api_key', id: 'key-t-acme-0' }, '10.0.0.99'),
      ev(vaultRead('t-acme', 'customers', 'app_functionality', ['n-2']), t0 + MINUTE, { type: 'api_key', id: 'key-t-acme-0' }, '45.77.1.20'),
      ev(vaultRead('t-acme', 'customers', 'app_functionality', ['n-3']), t0 + 2 * MINUTE, { type: 'api_key', id: 'key-t-acme-0' }, '45.77.1.21'),
    ],
    fires: { apiKeyNewNetwork: 1 },
  },
  {
    name: 'mass reads by a brand-new actor: 1000 subject views in 50 minutes',
    events: (t0) => repeat(1000, (i) => ev(simple('vault.subject.read', OCSF.DATASTORE_ACTIVITY, ACTIVITY.READ, 'access', 't-acme', { type: 'subject', id: `s-${i}` }, { reason: 'support' }), t0 + i * 3000, user('u-new-insider'), '45.10.0.9')),
    fires: { massReadCeiling: 1 },
  },
  {
    name: 'firewall, VPN and cloud network controls changed (OCSF, ECS, syslog with and without structured data, CloudTrail)',
    events: (t0) => [
      external({ class_uid: 3004, activity_id: 3, time: t0, status_id: 1, metadata: { product: { name: 'FortiGate', vendor_name: 'Fortinet' } }, device: { type: 'Firewall' }, activity_name: 'Update' }, t0, null, { type: 'api_key', id: 'key-platform' }),
      external({ '@timestamp': new Date(t0).toISOString(), event: { category: ['configuration'], type: ['change'], action: 'tunnel-group-modified' }, observer: { type: 'vpn', vendor: 'Cisco' } }, t0 + 1000, null, { type: 'api_key', id: 'key-platform' }),
      syslogEvent(`<189>1 ${new Date(t0).toISOString()} fw-2 pfsense 1 config [custos@32473 category="configuration" type="change" observer="firewall"] rule 4 modified`, t0 + 2000),
      syslogEvent(`<189>1 ${new Date(t0).toISOString()} asa-1 asa - - - %ASA-5-111008: User 'netops' executed the 'access-list outside_in permit tcp any any eq 22' command.`, t0 + 3000),
      external({ '@timestamp': new Date(t0).toISOString(), event: { category: ['iam', 'network'], type: ['change'], action: 'AuthorizeSecurityGroupIngress', provider: 'ec2.amazonaws.com', outcome: 'success' }, cloud: { provider: 'aws' } }, t0 + 4000, null, { type: 'api_key', id: 'key-platform' }),
    ],
    fires: { networkControl: 5 },
  },
  {
    name: "Custos's own security configuration changed, audit entries archived",
    events: (t0) => [
      ev(simple('config.security_change', OCSF.ENTITY_MANAGEMENT, ACTIVITY.UPDATE, 'security', null, { type: 'config', id: 'identity.password' }, { sections: ['identity.password'] }), t0, { type: 'system', id: 'startup' }),
      ev(simple('audit.archive', OCSF.API_ACTIVITY, ACTIVITY.DELETE, 'change', null, { type: 'audit_log', id: 'custos.local/audit' }, { floor: 1000 }), t0 + MINUTE, { type: 'system', id: 'cli' }),
    ],
    fires: { securityControl: 2 },
  },
  {
    name: 'audit verification failed; a sequencer gap',
    events: (t0) => [
      ev(simple('audit.verify', OCSF.API_ACTIVITY, ACTIVITY.OTHER, 'security', null, { type: 'audit_log', id: 'custos.local/audit' }, { firstBadIndex: 42, reason: 'leaf hash mismatch' }, 'failure'), t0, { type: 'system', id: 'audit-verify' }),
      ev(simple('audit.sequencer.gap', OCSF.API_ACTIVITY, ACTIVITY.OTHER, 'security', null, { type: 'audit_log', id: 'custos.local/audit' }, { expected: 100, found: 102 }, 'failure'), t0 + MINUTE, { type: 'system', id: 'audit-sequencer' }),
    ],
    fires: { auditIntegrity: 2 },
  },
  {
    name: "a tenant crypto-shredded; six subjects' keys destroyed within the hour by one actor",
    events: (t0) => [ev(keyDestroy('t-initech', 'tenant', 't-initech'), t0, user('staff-admin-2')), ...repeat(6, (i) => ev(keyDestroy('t-acme', 'subject', `victim-${i}`), t0 + (i + 1) * 5 * MINUTE, user('u-t-acme-7'), '203.0.0.27'))],
    fires: { tenantShred: 1, massSubjectShred: 1 },
  },
];

const NAME_BY_ID = Object.fromEntries(Object.entries(ID).map(([k, v]) => [v, k]));
function tally(matches: ReadonlyArray<{ ruleId: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of matches) {
    const k = NAME_BY_ID[m.ruleId] ?? m.ruleId;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

const NORMAL = normalTraffic(10_000);

describe('built-in rule pack (rules/sigma)', () => {
  it('every rule has a uuid, a title, a description, a level and measure tags; detections name their log source', () => {
    const files = readdirSync(PACK_DIR).filter((f) => f.endsWith('.yml') && f !== 'pipeline.yml');
    const docs = files.flatMap((f) => parseAllDocuments(readFileSync(path.join(PACK_DIR, f), 'utf8')).map((d) => ({ f, r: d.toJS() as Record<string, unknown> })));
    expect(docs.length).toBeGreaterThanOrEqual(20);
    for (const { f, r } of docs) {
      expect(r.id, f).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(typeof r.title === 'string' && typeof r.description === 'string' && typeof r.level === 'string', `${f}: ${String(r.title)}`).toBe(true);
      expect((r.tags as string[]).some((t) => /^custos\.m\d\d$/.test(t)), `${f}: ${String(r.title)} traces to a measure`).toBe(true);
      if (r.detection) expect(r.logsource, `${f}: ${String(r.title)}`).toMatchObject({ product: 'custos' });
    }
    expect(new Set(docs.map((d) => d.r.id)).size).toBe(docs.length);
    // Every alerting rule of the pack is exercised below.
    const alerting = loadPack().rules.filter((r) => r.level !== 'informational' && !['Failed Custos login', 'Many failed logins on one account', 'Cross-tenant or out-of-scope probe'].includes(r.title));
    expect(alerting.map((r) => r.id).sort()).toEqual(Object.values(ID).sort());
  });

  it('stays quiet on 10,000 events of a normal working week', () => {
    const days = (NORMAL.at(-1)!.time - NORMAL[0]!.time) / (24 * HOUR);
    expect(NORMAL).toHaveLength(10_000);
    expect(days).toBeGreaterThan(2);
    const actions = tally(NORMAL.map((t) => ({ ruleId: String((t.event.custos as { action: string }).action) })));
    // The week has what the rules look at: failed logins, approvals, probes, erasures, firewall logs.
    for (const a of ['auth.login', 'vault.record.read', 'access_request.approve', 'tenant.cross_tenant_probe', 'key.destroy', 'external.event', 'invitation.create', 'audit.verify']) expect(actions[a], a).toBeGreaterThan(0);
    expect(NORMAL.filter((t) => t.event.status === 'Failure' && (t.event.custos as { action: string }).action === 'auth.login').length).toBeGreaterThan(5);
    expect(tally(run(loadPack(), NORMAL))).toEqual({});
  });

  describe.each(ATTACKS)('$name', (attack) => {
    const t0 = attack.at ?? WED_10;
    it.skipIf(attack.needsHistory)('fires on its own', () => {
      expect(tally(run(loadPack(), attack.events(t0)))).toEqual(attack.fires);
    });
    it('fires inside normal traffic, and nothing else does', () => {
      expect(tally(run(loadPack(), merge(NORMAL, attack.events(t0))))).toEqual(attack.fires);
    });
  });

  it('correlations group by the account and the actor, not across them: 10 failures on 10 accounts from 10 addresses, 3 probes by 3 members fire nothing', () => {
    const spread = [
      ...repeat(10, (i) => ev(login(false, `u-spread-${i}`, 't-acme'), WED_10 + i * 20_000, anon, `45.20.0.${i}`)),
      ...repeat(3, (i) => ev(probe('t-globex', 'record', `guess-${i}`, 'actor belongs to another tenant'), WED_10 + i * 20_000, user(`u-t-acme-${i}`), '203.0.0.25')),
    ];
    expect(tally(run(loadPack(), spread))).toEqual({});
  });

  it('office hours are the pipeline\'s: with a night-shift pipeline the 22:30 approval is quiet and a 10:00 one fires', () => {
    const night = readFileSync(path.join(PACK_DIR, 'pipeline.yml'), 'utf8').replace(/off_hours: \[[^\]]*\]/, "off_hours: ['08', '09', '10', '11', '12', '13', '14', '15', '16', '17']");
    const approve = (at: number) => [ev(accessRequest('approve', `ar-${at}`, 'staff-support-1', 't-acme'), at, user('staff-admin-1'))];
    expect(tally(run(loadPack(night), approve(WEEK_START + 22 * HOUR + 30 * MINUTE)))).toEqual({});
    expect(tally(run(loadPack(night), approve(WEEK_START + 10 * HOUR)))).toEqual({ offHoursApproval: 1 });
  });
});
