import { describe, expect, it } from 'vitest';
import { normalizeJson } from './normalize.js';

const NOW = new Date('2030-01-01T12:00:00Z');
const ocsf = (over: Record<string, unknown> = {}) => ({
  class_uid: 3004, activity_id: 3, time: NOW.getTime() - 1000, status_id: 1, severity_id: 3,
  metadata: { product: { name: 'FortiGate', vendor_name: 'Fortinet' }, version: '1.3.0' },
  device: { type: 'Firewall', hostname: 'fw-1' }, actor: { user: { name: 'netadmin' } }, src_endpoint: { ip: '198.51.100.7' }, ...over,
});

describe('external event normalisation', () => {
  it('summarises an OCSF event and keeps the original', () => {
    const r = normalizeJson(ocsf(), NOW);
    expect(r.ok && r.event.summary).toMatchObject({ format: 'ocsf', class_uid: 3004, activity_id: 3, category: ['iam', 'configuration'], outcome: 'success', product: 'FortiGate', observer_type: 'firewall', user: 'netadmin', src_ip: '198.51.100.7' });
    expect(r.ok && r.event.original.device).toEqual({ type: 'Firewall', hostname: 'fw-1' });
  });

  it('maps ECS categorisation (nested or dotted keys) onto OCSF classes', () => {
    const nested = normalizeJson({ '@timestamp': '2030-01-01T11:00:00Z', event: { category: ['configuration'], type: ['change'], action: 'vpn-policy-updated', outcome: 'success' }, observer: { type: 'vpn', vendor: 'Cisco' }, source: { ip: '203.0.113.9' } }, NOW);
    expect(nested.ok && nested.event.summary).toMatchObject({ format: 'ecs', class_uid: 3004, activity_id: 3, category: ['configuration'], type: ['change'], action: 'vpn-policy-updated', observer_type: 'vpn', src_ip: '203.0.113.9' });
    const dotted = normalizeJson({ '@timestamp': '2030-01-01T11:00:00Z', 'event.category': 'network', 'event.type': ['denied'], 'observer.type': 'firewall' }, NOW);
    expect(dotted.ok && dotted.event.summary).toMatchObject({ class_uid: 4001, activity_id: 5, observer_type: 'firewall', outcome: 'unknown' });
    const login = normalizeJson({ '@timestamp': NOW.toISOString(), event: { category: 'authentication', type: 'start', outcome: 'failure' } }, NOW);
    expect(login.ok && login.event.summary).toMatchObject({ class_uid: 3002, activity_id: 1, outcome: 'failure' });
  });

  it.each([
    ['not an object', [1, 2], 'EVENT_NOT_OBJECT'],
    ['neither dialect', { hello: 'world' }, 'EVENT_FORMAT_UNKNOWN'],
    ['OCSF without product', { class_uid: 4001, activity_id: 1, time: NOW.getTime() }, 'EVENT_FIELD_MISSING'],
    ['OCSF without activity', ocsf({ activity_id: undefined }), 'EVENT_FIELD_MISSING'],
    ['OCSF fractional class', ocsf({ class_uid: 1.5 }), 'EVENT_FIELD_INVALID'],
    ['ECS without category or action', { '@timestamp': NOW.toISOString(), message: 'x' }, 'EVENT_FIELD_MISSING'],
    ['a time that is not one', { '@timestamp': 'yesterday', event: { action: 'x' } }, 'EVENT_TIME_INVALID'],
    ['a time from 1970', ocsf({ time: 0 }), 'EVENT_TIME_OUT_OF_RANGE'],
    ['a time next week', ocsf({ time: NOW.getTime() + 7 * 86_400_000 }), 'EVENT_TIME_OUT_OF_RANGE'],
    ['65 KiB', ocsf({ message: 'x'.repeat(65 * 1024) }), 'EVENT_TOO_LARGE'],
    ['deep nesting', ocsf({ unmapped: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) as unknown }), 'EVENT_TOO_DEEP'],
  ])('refuses %s', (_name, doc, code) => {
    const r = normalizeJson(JSON.parse(JSON.stringify(doc)) as unknown, NOW);
    expect(r.ok ? 'accepted' : r.problem.code).toBe(code);
  });
});
