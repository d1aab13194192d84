import { describe, expect, it } from 'vitest';
import { prepareEntries } from './entries.js';
import { escapeParam, formatCheckpoint, formatEntry, frame, headerField, syslogSeverity, type SyslogFormatOptions } from './syslog-format.js';

const opts: SyslogFormatOptions = { facility: 13, hostname: 'host-1', appName: 'custos', procId: '42', sdId: 'custos@32473' };

function entry(event: Record<string, unknown>, index = 7) {
  return prepareEntries([{ index, eventJson: JSON.stringify(event), leafHash: 'q83v+A==' }], index)[0]!;
}

describe('RFC 5424 formatting', () => {
  it('formats an entry: PRI from facility and OCSF severity, timestamp, SD with index and ids, BOM + JSON', () => {
    const event = { metadata: { uid: 'ev-1' }, time_dt: '2026-01-01T00:00:00.123Z', severity_id: 4, note: 'é' };
    const msg = formatEntry(opts, entry(event));
    // facility 13 * 8 + severity 3 (OCSF high → error) = 107
    expect(msg).toBe(
      `<107>1 2026-01-01T00:00:00.123Z host-1 custos 42 audit [custos@32473 index="7" eventId="ev-1" leafHash="q83v+A=="] \uFEFF${JSON.stringify(event)}`,
    );
  });

  it('maps every OCSF severity id and falls back to notice', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 99, undefined].map(syslogSeverity)).toEqual([6, 6, 5, 4, 3, 2, 1, 5, 5]);
  });

  it('escapes ", \\ and ] in SD param values and cleans header fields', () => {
    expect(escapeParam('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    expect(headerField('my host\n', 255)).toBe('myhost');
    expect(headerField('', 10)).toBe('-');
    expect(headerField('x'.repeat(60), 48)).toHaveLength(48);
    const msg = formatEntry(opts, entry({ metadata: { uid: 'e"v]1' } }));
    expect(msg).toContain('eventId="e\\"v\\]1"');
    expect(msg).toMatch(/^<109>1 - host-1/); // no time_dt: NILVALUE timestamp; no severity_id: notice
  });

  it('formats a checkpoint with MSGID checkpoint and the note as JSON', () => {
    const note = 'origin\n3\nroot=\n\n— origin abc\n';
    const msg = formatCheckpoint(opts, { size: 3, note }, new Date('2026-02-02T00:00:00Z'));
    expect(msg).toBe(`<109>1 2026-02-02T00:00:00.000Z host-1 custos 42 checkpoint [custos@32473 size="3"] \uFEFF${JSON.stringify({ size: 3, note })}`);
  });

  it('frames by octets (RFC 5425), not characters', () => {
    const f = frame('é€');
    expect(f.toString('utf8')).toBe('5 é€');
    expect(frame('').toString()).toBe('0 ');
  });
});

describe('prepareEntries', () => {
  const e = (index: number, json = '{"metadata":{"uid":"x"}}') => ({ index, eventJson: json, leafHash: '' });
  it('refuses a gap, a wrong start and entries without an event id; never skips', () => {
    expect(() => prepareEntries([e(0), e(2)], 0)).toThrow(expect.objectContaining({ code: 'AUDIT_FORWARD_SOURCE_GAP' }));
    expect(() => prepareEntries([e(1)], 0)).toThrow(expect.objectContaining({ code: 'AUDIT_FORWARD_SOURCE_GAP' }));
    expect(() => prepareEntries([e(0, '{')], 0)).toThrow(expect.objectContaining({ code: 'AUDIT_FORWARD_BAD_ENTRY' }));
    expect(() => prepareEntries([e(0, '[]')], 0)).toThrow(expect.objectContaining({ code: 'AUDIT_FORWARD_BAD_ENTRY' }));
    expect(() => prepareEntries([e(0, '{"metadata":{}}')], 0)).toThrow(expect.objectContaining({ code: 'AUDIT_FORWARD_BAD_ENTRY' }));
    expect(prepareEntries([e(5), e(6)], 5).map((x) => x.eventId)).toEqual(['x', 'x']);
  });
});
