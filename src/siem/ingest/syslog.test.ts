import { describe, expect, it } from 'vitest';
import { fromSyslog } from './syslog-event.js';
import { FrameDecoder } from './syslog-framing.js';
import { parseSyslog } from './syslog-parse.js';

const NOW = new Date('2030-01-01T12:00:00Z');

describe('RFC 5424 parser', () => {
  it('parses the RFC 5424 §6.5 examples', () => {
    const ex1 = parseSyslog('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF\'su root\' failed for lonvick on /dev/pts/8');
    expect(ex1.ok && ex1.message).toMatchObject({ facility: 4, severity: 2, hostname: 'mymachine.example.com', appName: 'su', procId: null, msgId: 'ID47', msg: "'su root' failed for lonvick on /dev/pts/8" });
    const ex3 = parseSyslog('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...');
    expect(ex3.ok && ex3.message.structuredData).toEqual({ 'exampleSDID@32473': { iut: ['3'], eventSource: ['Application'], eventID: ['1011'] } });
    const ex4 = parseSyslog('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"][examplePriority@32473 class="high"]');
    expect(ex4.ok && Object.keys(ex4.message.structuredData)).toEqual(['exampleSDID@32473', 'examplePriority@32473']);
    expect(ex4.ok && ex4.message.msg).toBeNull();
    const tz = parseSyslog('<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It\'s time to make the do-nuts.');
    expect(tz.ok && tz.message.timestamp).toBe('2003-08-24T12:14:15.000Z');
  });

  it('unescapes \\" \\\\ \\] in parameter values and keeps other backslashes', () => {
    const r = parseSyslog('<13>1 - host app - - [x@1 a="q\\"uo\\\\te\\]d" b="c:\\dir"] m');
    expect(r.ok && r.message.structuredData['x@1']).toEqual({ a: ['q"uo\\te]d'], b: ['c:\\dir'] });
  });

  it.each([
    ['no PRI', 'hello'],
    ['PRI out of range', '<192>1 - - - - - -'],
    ['version 2', '<13>2 - - - - - -'],
    ['BSD syslog (RFC 3164)', '<13>Oct 11 22:14:15 mymachine su: failed'],
    ['timestamp without zone', '<13>1 2003-10-11T22:14:15 host app - - -'],
    ['app-name too long', `<13>1 - host ${'a'.repeat(49)} - - -`],
    ['unterminated SD value', '<13>1 - host app - - [x@1 a="b] m'],
    ['duplicate SD-ID', '<13>1 - host app - - [x@1][x@1]'],
    ['no space before MSG', '<13>1 - host app - - [x@1]msg'],
    ['header too short', '<13>1 - host'],
  ])('refuses %s', (_name, line) => {
    const r = parseSyslog(line);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem.code).toBe('SYSLOG_MALFORMED');
  });

  it('summarises structured-data categorisation and the PRI severity', () => {
    const r = parseSyslog('<188>1 2030-01-01T11:59:00Z fw1 pfsense 42 config [custos@32473 category="configuration" type="change" observer="firewall" user="admin"] rule 12 edited');
    expect(r.ok).toBe(true);
    const n = r.ok ? fromSyslog(r.message, NOW) : null;
    expect(n?.ok && n.event.summary).toMatchObject({
      format: 'syslog', class_uid: 3004, activity_id: 3, category: ['configuration'], type: ['change'], observer_type: 'firewall',
      severity_id: 3, action: 'config', host: 'fw1', app: 'pfsense', user: 'admin', message: 'rule 12 edited', time: '2030-01-01T11:59:00.000Z',
    });
    const old = parseSyslog('<13>1 2020-01-01T00:00:00Z h a - - - x');
    const n2 = old.ok ? fromSyslog(old.message, NOW) : null;
    expect(n2 && !n2.ok && n2.problem.code).toBe('EVENT_TIME_OUT_OF_RANGE');
  });
});

describe('syslog framing', () => {
  const frames = (d: FrameDecoder, s: string | Buffer) => d.push(Buffer.from(s)).map((f) => (f.kind === 'frame' ? f.data.toString() : f.kind));

  it('decodes octet-counted frames split anywhere, and LF-terminated ones', () => {
    const d = new FrameDecoder(100);
    const msg = '<13>1 - h a - - - hi';
    const wire = `${msg.length} ${msg}${msg.length} ${msg}`;
    const out: string[] = [];
    for (const ch of wire) out.push(...frames(d, ch));
    expect(out).toEqual([msg, msg]);
    expect(frames(d, `${msg}\n${msg}\r\n`)).toEqual([msg, msg]);
  });

  it('skips oversized frames without buffering them and carries on', () => {
    const d = new FrameDecoder(10);
    expect(frames(d, `20 ${'x'.repeat(15)}`)).toEqual(['oversize']);
    expect(frames(d, `${'x'.repeat(5)}5 <1>ok`)).toEqual(['<1>ok']);
    expect(frames(d, `<${'y'.repeat(30)}`)).toEqual(['oversize']);
    expect(frames(d, 'yyy\n<1>b\n')).toEqual(['<1>b']);
  });

  it('counts garbage lines and gives up on a length prefix it cannot resynchronise', () => {
    const d = new FrameDecoder(100);
    expect(frames(d, 'GET / HTTP/1.1\n')).toEqual(['garbage']);
    expect(d.fatal).toBeNull();
    expect(frames(d, '12x34 <1>')).toEqual([]);
    expect(d.fatal).toMatch(/octet count/);
  });
});
