import { afterEach, describe, expect, it } from 'vitest';
import type { Custos } from '../src/main.js';
import { createCustos } from '../src/main.js';
import { createLogger } from '../src/logger.js';
import { Notifier } from '../src/siem/index.js';
import { systemContext } from '../src/shared/context.js';
import { DIALECTS, outboxEvents, testApp, testAuditSigner, testEnv, type TestApp } from './helpers/app.js';
import { createPerson, fakeClock } from './helpers/identity.js';
import { PING_RULES, ping, testSiem, webhookReceiver, writeRuleFile } from './helpers/siem.js';

/**
 * The SIEM runtime over the real log: its cursor and window state survive a
 * restart, a failed commit and a crashed leader, so an alert fires exactly
 * once; dedup within the suppression window; the alert lifecycle and rule
 * settings through the API, audited; notifications retried until delivered.
 * Each test drives the sequencer and the worker by hand (their loops are off).
 */
const rulesFile = writeRuleFile(PING_RULES);
const base = {
  'siem.enabled': false,
  'siem.builtinRules': false,
  'siem.rulePaths': [rulesFile],
  'siem.leaseSeconds': 2,
  'audit.sequencer.checkpointIntervalMs': 0,
};

type Db = Custos['db'];
const alertsOf = (db: Db, group: string) =>
  db.read((tx) => tx.selectFrom('siem_alerts').selectAll().where('group_key', '=', group).orderBy('id').execute());
const cursorOf = async (db: Db) => Number((await db.read((tx) => tx.selectFrom('siem_state').select('next_index').executeTakeFirst()))?.next_index ?? 0);
const logSize = async (c: Custos) => (await c.auditLog.source.latestIndex()) + 1;
const sequence = async (c: Custos) => {
  await c.auditLog.sequencer?.tick();
};
async function pings(c: Custos, key: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await ping(c, key);
  await sequence(c);
}

describe.each(DIALECTS)('SIEM runtime (%s)', (dialect) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('fires a correlation exactly once across a restart, a failed commit and a leader killed mid-window', async () => {
    const env = await testEnv(dialect, base);
    const signer = testAuditSigner();
    const open = () => createCustos(env.config, { logger: createLogger('silent'), auditSigner: signer, auditSequencer: false });
    let failNext = false;
    const faulty = () => {
      if (failNext) {
        failNext = false;
        throw new Error('simulated crash before COMMIT');
      }
    };
    let c = await open();
    try {
      let siem = testSiem(c, { beforeCommit: faulty });
      // Two of three inside the window, then a restart.
      await pings(c, 'k1', 2);
      expect((await siem.worker.tick()).matches).toBe(0);
      expect(await cursorOf(c.db)).toBe(await logSize(c));
      await siem.stop();
      await c.close();

      c = await open();
      siem = testSiem(c, { beforeCommit: faulty });
      await pings(c, 'k1', 1);
      expect((await siem.worker.tick()).created).toBe(1);
      expect((await siem.worker.tick()).created).toBe(0);
      const [k1] = await alertsOf(c.db, 'unmapped.key=k1');
      expect(JSON.parse(k1?.indexes ?? '[]')).toHaveLength(3);
      expect(await alertsOf(c.db, 'unmapped.key=k1')).toHaveLength(1);

      // The batch that completes the window fails before COMMIT: nothing of it stays, the retry fires once.
      await pings(c, 'k2', 2);
      await siem.worker.tick();
      await pings(c, 'k2', 1);
      const before = await cursorOf(c.db);
      failNext = true;
      await expect(siem.worker.tick()).rejects.toThrow('simulated crash');
      expect(await alertsOf(c.db, 'unmapped.key=k2')).toHaveLength(0);
      expect(await cursorOf(c.db)).toBe(before);
      expect((await siem.worker.tick()).created).toBe(1);
      expect((await siem.worker.tick()).created).toBe(0);
      expect(await alertsOf(c.db, 'unmapped.key=k2')).toHaveLength(1);

      // A leader that dies holding its lease (never stopped): the next one waits for the lease, resumes from the stored window.
      await pings(c, 'k3', 2);
      await siem.worker.tick();
      await pings(c, 'k3', 1);
      const next = testSiem(c);
      expect((await next.worker.tick()).leader).toBe(false);
      await new Promise((r) => setTimeout(r, 2100));
      expect((await next.worker.tick()).created).toBe(1);
      expect(await alertsOf(c.db, 'unmapped.key=k3')).toHaveLength(1);
      expect(await cursorOf(c.db)).toBe(await logSize(c));
      await next.stop();
      // The SIEM's own events are in the log and never evaluated (no alert on alerts).
      const actions = (await outboxEvents(c)).map((e) => e.custos.action);
      expect(actions.filter((a) => a === 'siem.alert.create')).toHaveLength(3);
    } finally {
      await c.close();
      await env.cleanup();
    }
  }, 60_000);

  it('folds repeats into the open alert within the suppression window and opens a new one after it', async () => {
    const clock = fakeClock(Date.now());
    t = await testApp(dialect, { clock, overrides: base, auditSequencer: false });
    const siem = testSiem(t.custos);
    await pings(t.custos, 'd', 6);
    await siem.worker.tick();
    let alerts = await alertsOf(t.custos.db, 'unmapped.key=d');
    expect(alerts.map((a) => a.count)).toEqual([2]);
    expect(JSON.parse(alerts[0]?.indexes ?? '[]')).toHaveLength(6);

    const tuned = await t.request({ method: 'PATCH', url: '/api/v1/siem/rules/test-burst', body: { suppressionSeconds: 60 } });
    expect(tuned.statusCode).toBe(200);
    expect(tuned.json().suppressionSeconds).toBe(60);
    clock.advance(61_000);
    await pings(t.custos, 'd', 3);
    await siem.worker.tick();
    await pings(t.custos, 'd', 3);
    await siem.worker.tick();
    alerts = await alertsOf(t.custos.db, 'unmapped.key=d');
    expect(alerts.map((a) => a.count)).toEqual([2, 2]);
    const repeats = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'siem.alert.repeat');
    expect(repeats).toHaveLength(2);
  }, 60_000);

  it('moves an alert through its lifecycle with assignee and notes, all audited, with inclusion proofs', async () => {
    t = await testApp(dialect, { overrides: base, auditSequencer: false });
    const siem = testSiem(t.custos);
    await pings(t.custos, 'life', 3);
    await siem.worker.tick();
    const list = await t.request({ method: 'GET', url: '/api/v1/siem/alerts?state=open&rule=test-burst&severity=high' });
    expect(list.statusCode).toBe(200);
    const [alert] = list.json().items as Array<{ id: string; indexes: number[] }>;
    if (!alert) throw new Error('no alert');
    const detail = (await t.request({ method: 'GET', url: `/api/v1/siem/alerts/${alert.id}` })).json();
    expect(detail.proofs).toHaveLength(3);
    for (const p of detail.proofs) expect(p.proof?.proof.length).toBeGreaterThan(0);

    const ack = await t.request({ method: 'PATCH', url: `/api/v1/siem/alerts/${alert.id}`, body: { state: 'acknowledged', assignee: t.admin.accountId } });
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({ state: 'acknowledged', assignee: t.admin.accountId });
    const note = await t.request({ method: 'POST', url: `/api/v1/siem/alerts/${alert.id}/notes`, body: { body: 'Checked with the owner: a load test.' } });
    expect(note.statusCode).toBe(201);
    const resolved = await t.request({ method: 'PATCH', url: `/api/v1/siem/alerts/${alert.id}`, body: { state: 'false_positive' } });
    expect(resolved.json().closedAt).not.toBeNull();
    const reopen = await t.request({ method: 'PATCH', url: `/api/v1/siem/alerts/${alert.id}`, body: { state: 'open' } });
    expect([reopen.statusCode, reopen.json().code]).toEqual([409, 'SIEM_ALERT_TRANSITION_INVALID']);
    const badAssignee = await t.request({ method: 'PATCH', url: `/api/v1/siem/alerts/${alert.id}`, body: { assignee: '01900000-0000-7000-8000-000000000000' } });
    expect([badAssignee.statusCode, badAssignee.json().code]).toEqual([422, 'SIEM_ASSIGNEE_INVALID']);
    const missing = await t.request({ method: 'GET', url: '/api/v1/siem/alerts/01900000-0000-7000-8000-000000000000' });
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'SIEM_ALERT_NOT_FOUND']);

    const after = (await t.request({ method: 'GET', url: `/api/v1/siem/alerts/${alert.id}` })).json();
    expect(after.notes.map((n: { body: string }) => n.body)).toEqual(['Checked with the owner: a load test.']);
    // Notes are sealed at rest.
    const raw = await t.custos.db.read((tx) => tx.selectFrom('siem_alert_notes').select('body_sealed').execute());
    expect(Buffer.from(raw[0]?.body_sealed ?? []).toString('latin1')).not.toContain('load test');
    const events = (await outboxEvents(t.custos)).filter((e) => e.custos.action.startsWith('siem.'));
    expect(events.map((e) => e.custos.action)).toEqual(['siem.alert.create', 'siem.alert.update', 'siem.alert.note', 'siem.alert.update']);
    expect(JSON.stringify(events)).not.toContain('load test');

    // An auditor reads alerts but cannot work them.
    const auditor = await createPerson(t.custos, { email: 'auditor@example.test', roles: ['auditor'] });
    expect((await t.request({ method: 'GET', url: '/api/v1/siem/alerts', token: auditor.token })).statusCode).toBe(200);
    const denied = await t.request({ method: 'PATCH', url: `/api/v1/siem/alerts/${alert.id}`, token: auditor.token, body: { state: 'resolved' } });
    expect([denied.statusCode, denied.json().code]).toEqual([403, 'ACCESS_DENIED']);
  }, 60_000);

  it('disables and tunes a rule through the API, audited, and the worker follows', async () => {
    t = await testApp(dialect, { overrides: base, auditSequencer: false });
    const siem = testSiem(t.custos);
    const rules = (await t.request({ method: 'GET', url: '/api/v1/siem/rules' })).json() as Array<{ id: string; enabled: boolean; source: string }>;
    expect(rules.find((r) => r.id === 'test-burst')).toMatchObject({ enabled: true, source: 'extra' });
    const off = await t.request({ method: 'PATCH', url: '/api/v1/siem/rules/test-burst', body: { enabled: false, level: 'critical' } });
    expect(off.json()).toMatchObject({ enabled: false, level: 'high', effectiveLevel: 'critical' });
    await pings(t.custos, 'tune', 3);
    expect((await siem.worker.tick()).created).toBe(0);
    await t.request({ method: 'PATCH', url: '/api/v1/siem/rules/test-burst', body: { enabled: true } });
    await pings(t.custos, 'tune', 3);
    expect((await siem.worker.tick()).created).toBe(1);
    const [alert] = await alertsOf(t.custos.db, 'unmapped.key=tune');
    expect(alert?.severity).toBe('critical');
    const unknown = await t.request({ method: 'PATCH', url: '/api/v1/siem/rules/no-such-rule', body: { enabled: false } });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'SIEM_RULE_NOT_FOUND']);
    const changes = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'siem.rule.update').map((e) => (e.unmapped as { changes: unknown }).changes);
    expect(changes).toEqual([{ enabled: false, level: 'critical' }, { enabled: true }]);
  }, 60_000);

  it('suspends the API key that acted (opt-in response, audited) and resumes it on revert', async () => {
    t = await testApp(dialect, { overrides: base, auditSequencer: false });
    const siem = testSiem(t.custos);
    const tenant = (await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: `siem-key-${dialect}`, name: 'Key Co' } })).json().id as string;
    const created = (await t.request({ method: 'POST', url: `/api/v1/tenants/${tenant}/api-keys`, body: { name: 'app', permissions: ['integrations:read'], purposes: [] } })).json();
    const keyId = created.key.id as string;
    const asKey = (token: string) => t?.request({ method: 'GET', url: `/api/v1/tenants/${tenant}/integrations`, token });
    expect((await asKey(created.token))?.statusCode).toBe(200);
    expect((await t.request({ method: 'PATCH', url: '/api/v1/siem/rules/test-burst', body: { responses: ['suspend_api_key', 'lock_account'] } })).statusCode).toBe(200);

    const ctx = { ...systemContext('test'), actor: { type: 'api_key' as const, id: keyId, tenantId: tenant, permissions: [], purposes: [] } };
    for (let i = 0; i < 3; i++) await ping(t.custos, 'key', ctx);
    await sequence(t.custos);
    expect((await siem.worker.tick()).created).toBe(1);
    expect((await asKey(created.token))?.statusCode).toBe(401);
    const [alert] = await alertsOf(t.custos.db, 'unmapped.key=key');
    const detail = (await t.request({ method: 'GET', url: `/api/v1/siem/alerts/${alert?.id}` })).json() as { responses: Array<{ id: string; action: string; state: string; target: { type: string; id: string } }> };
    // The key is suspended; no account acted or was targeted, so the lock is recorded as skipped.
    expect(detail.responses.map((r) => [r.action, r.state, r.target.type])).toEqual([
      ['suspend_api_key', 'applied', 'api_key'],
      ['lock_account', 'skipped', 'none'],
    ]);
    const skipped = await t.request({ method: 'POST', url: `/api/v1/siem/alerts/${alert?.id}/responses/${detail.responses[1]?.id}/revert` });
    expect([skipped.statusCode, skipped.json().code]).toEqual([409, 'SIEM_RESPONSE_NOT_REVERTIBLE']);
    const undo = await t.request({ method: 'POST', url: `/api/v1/siem/alerts/${alert?.id}/responses/${detail.responses[0]?.id}/revert` });
    expect(undo.statusCode).toBe(200);
    expect((await asKey(created.token))?.statusCode).toBe(200);
    const actions = (await outboxEvents(t.custos)).map((e) => e.custos.action);
    expect(actions).toEqual(expect.arrayContaining(['api_key.suspend', 'siem.response.revert', 'api_key.resume']));
  }, 60_000);

  it('retries a notification with backoff until the receiver takes it, and gives up after maxAttempts (audited)', async () => {
    const secret = 'siem-runtime-test-webhook-secret-0123456789';
    process.env.SIEM_RUNTIME_TEST_SECRET = secret;
    const receiver = await webhookReceiver(secret, 1);
    try {
      t = await testApp(dialect, {
        auditSequencer: false,
        overrides: {
          ...base,
          'siem.notifications.backoffBaseMs': 10,
          'siem.notifications.backoffMaxMs': 20,
          'siem.notifications.webhook': { url: receiver.url, secretEnv: 'SIEM_RUNTIME_TEST_SECRET', allowHttp: true, minSeverity: 'low' },
        },
      });
      const siem = testSiem(t.custos);
      await pings(t.custos, 'n', 3);
      await siem.worker.tick();
      expect(await siem.notifier.tick()).toEqual({ sent: 0, failed: 1 });
      const [row] = await t.custos.db.read((tx) => tx.selectFrom('siem_notifications').selectAll().execute());
      expect(row).toMatchObject({ state: 'pending', attempts: 1 });
      expect(row?.last_error).toContain('500');
      await new Promise((r) => setTimeout(r, 40));
      expect(await siem.notifier.tick()).toEqual({ sent: 1, failed: 0 });
      expect(receiver.hits).toHaveLength(1);
      expect(receiver.hits[0]).toMatchObject({ delivery: row?.id, signatureValid: true, body: { type: 'custos.siem.alert', alert: { ruleId: 'test-burst', severity: 'high' } } });
      const [sent] = await t.custos.db.read((tx) => tx.selectFrom('siem_notifications').selectAll().execute());
      expect(sent).toMatchObject({ state: 'sent', attempts: 2 });

      // A destination that never takes it: dead after maxAttempts, with a high-severity event.
      await pings(t.custos, 'n2', 3);
      await siem.worker.tick();
      const failing = new Notifier({
        db: t.custos.db,
        audit: t.custos.audit,
        clock: { now: () => new Date() },
        logger: { info() {}, warn() {} },
        senders: [{ name: 'webhook', minSeverity: 'low', send: () => Promise.reject(new Error('connection refused')), close: async () => {} }],
        maxAttempts: 2,
        backoff: { baseMs: 10, maxMs: 20 },
        isLeader: () => true,
        pollMs: 1000,
      });
      await failing.tick();
      await new Promise((r) => setTimeout(r, 40));
      await failing.tick();
      const states = await t.custos.db.read((tx) => tx.selectFrom('siem_notifications').select(['state', 'attempts']).orderBy('id').execute());
      expect(states).toEqual([{ state: 'sent', attempts: 2 }, { state: 'dead', attempts: 2 }]);
      const dead = (await outboxEvents(t.custos)).filter((e) => e.custos.action === 'siem.notification.dead');
      expect(dead).toHaveLength(1);
      expect(dead[0]?.severity_id).toBe(4);
      delete process.env.SIEM_RUNTIME_TEST_SECRET;
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
