import { describe, expect, it } from 'vitest';
import { ACTIVITY, buildEvent, OCSF } from '../events.js';
import { ecsCategorization, toEcs } from './ecs.js';

const args = {
  eventId: '0190b000-0000-7000-8000-000000000001',
  time: new Date('2026-03-04T05:06:07.089Z'),
  actor: { type: 'user', id: 'user-1' },
  requestId: 'req-1',
  sourceIp: '198.51.100.4',
};

describe('toEcs', () => {
  it('projects an OCSF event onto ECS fields', () => {
    const event = buildEvent(
      {
        classUid: OCSF.ENTITY_MANAGEMENT,
        activityId: ACTIVITY.DELETE,
        action: 'tenant.delete',
        kind: 'change',
        outcome: 'failure',
        severity: 'high',
        tenantId: 'tenant-1',
        target: { type: 'tenant', id: 'tenant-1' },
        details: { reason: 'policy' },
      },
      args,
    );
    expect(toEcs(event)).toEqual({
      '@timestamp': '2026-03-04T05:06:07.089Z',
      ecs: { version: '8.11.0' },
      event: {
        id: args.eventId,
        kind: 'event',
        category: ['configuration'],
        type: ['deletion'],
        action: 'tenant.delete',
        outcome: 'failure',
        severity: 4,
        code: '300404',
        provider: 'custos',
        dataset: 'custos.audit',
      },
      user: { id: 'user-1' },
      source: { ip: '198.51.100.4' },
      organization: { id: 'tenant-1' },
      trace: { id: 'req-1' },
      related: { user: ['user-1'], ip: ['198.51.100.4'] },
      custos: {
        kind: 'change',
        actor_type: 'user',
        resources: [{ type: 'tenant', uid: 'tenant-1' }],
        details: { reason: 'policy' },
        ocsf: { class_uid: 3004, activity_id: 4, type_uid: 300404 },
      },
    });
  });

  it('leaves out what the event does not carry (no tenant, no source ip)', () => {
    const event = buildEvent({ classUid: OCSF.AUTHENTICATION, activityId: 1, action: 'session.login', kind: 'auth', outcome: 'success' }, { ...args, sourceIp: null });
    const doc = toEcs(event);
    expect(doc.source).toBeUndefined();
    expect(doc.organization).toBeUndefined();
    expect(doc.related).toEqual({ user: ['user-1'] });
    expect(doc.event).toMatchObject({ category: ['authentication'], type: ['start'], outcome: 'success', severity: 1 });
  });

  it('uses only ECS allowed categorisation values', () => {
    const allowed = new Set(['api', 'authentication', 'configuration', 'database', 'iam', 'intrusion_detection', 'session']);
    const types = new Set(['access', 'admin', 'change', 'creation', 'deletion', 'end', 'group', 'info', 'start', 'user']);
    for (const cls of [...Object.values(OCSF), 1234]) {
      for (const act of [1, 2, 3, 4, 99]) {
        const { category, type } = ecsCategorization(cls, act);
        for (const c of category) expect(allowed).toContain(c);
        for (const t of type) expect(types).toContain(t);
      }
    }
    expect(toEcs(buildEvent({ classUid: OCSF.DETECTION_FINDING, activityId: 1, action: 'x', kind: 'security', outcome: 'success' }, args)).event).toMatchObject({ kind: 'alert' });
  });
});
