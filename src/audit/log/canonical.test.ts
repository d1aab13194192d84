/**
 * RFC 8785 (JCS) examples: §3.2.2 (serialisation of primitives), §3.2.3
 * (property sorting by UTF-16 code units, non-ASCII names), §3.2.4 (the
 * UTF-8 bytes of the §3.2.2 example) and Appendix B (number serialisation,
 * from IEEE 754 bit patterns); plus what JCS cannot represent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import canonicalizeModule from 'canonicalize';
import { buildEvent } from '../events.js';
import { canonicalJson, canonicalJsonBytes, canonicalJsonReference, MAX_CANONICAL_DEPTH } from './canonical.js';

const double = (bits: string): number => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
};

describe('canonicalJson: RFC 8785 examples', () => {
  it('§3.2.2 / §3.2.4: primitives, escapes and the exact UTF-8 output', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalJson(input)).toBe(expected);
    const bytes =
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a 5b 33 ' +
      '33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 73 ' +
      '74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d';
    expect(canonicalJsonBytes(input).toString('hex')).toBe(bytes.replaceAll(' ', ''));
  });

  it('§3.2.3: sorts property names by UTF-16 code units, non-ASCII included', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ['0000000000000000', '0'], ['8000000000000000', '0'], ['0000000000000001', '5e-324'], ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'], ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'], ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'], ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'], ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'], ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'], ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'], ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'], ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'], ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'], ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('Appendix B: 0x%s → %s', (bits, text) => {
    expect(canonicalJson(double(bits))).toBe(text);
    expect(canonicalJson({ n: double(bits) })).toBe(`{"n":${text}}`);
  });

  it('Appendix B: NaN and Infinity are errors; so is the rest JCS cannot represent', () => {
    const refused: [string, unknown][] = [
      ['NaN', double('7fffffffffffffff')], ['Infinity', double('7ff0000000000000')], ['-Infinity', -Infinity],
      ['top-level undefined', undefined], ['BigInt', 1n], ['nested BigInt', { a: [1, { b: 2n }] }],
      ['nested NaN', { a: [Number.NaN] }], ['undefined in an array', [1, undefined]], ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
      ['function', () => 1], ['function member', { f: () => 1 }], ['symbol member', { s: Symbol('x') }],
      ['lone surrogate', 'a\ud800'], ['lone surrogate key', { '\udc00': 1 }], ['Map', new Map([['a', 1]])],
      ['Set', { s: new Set([1]) }], ['boxed string', { s: new String('ab') }], ['class instance', { c: new (class C { x = 1; })() }],
    ];
    for (const [label, value] of refused) {
      expect(() => canonicalJson(value), label).toThrow(expect.objectContaining({ code: 'AUDIT_EVENT_NOT_CANONICALIZABLE' }));
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(expect.objectContaining({ code: 'AUDIT_EVENT_NOT_CANONICALIZABLE' }));
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_CANONICAL_DEPTH; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(expect.objectContaining({ code: 'AUDIT_EVENT_NOT_CANONICALIZABLE' }));
  });

  it('keeps JSON semantics where they are unambiguous: undefined members vanish, toJSON is used, -0 is 0', () => {
    expect(canonicalJson({ b: undefined, a: -0, d: new Date(0), n: null })).toBe('{"a":0,"d":"1970-01-01T00:00:00.000Z","n":null}');
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
    expect(canonicalJson(Object.assign(Object.create(null) as object, { z: 1, y: 2 }))).toBe('{"y":2,"z":1}');
  });

  it('is JSON, parses back to the same value, and does not depend on member order (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        const parsed = JSON.parse(text) as unknown;
        expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(parsed)).toBe(text);
        const reversed = JSON.parse(text, (_k, v: unknown) =>
          v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        ) as unknown;
        expect(canonicalJson(reversed)).toBe(text);
      }),
    );
  });
});

describe('canonicalJson: the one-pass writer agrees with the checker and the canonicalize package', () => {
  const pkg = (typeof canonicalizeModule === 'function' ? canonicalizeModule : (canonicalizeModule as unknown as { default: unknown }).default) as unknown as (v: unknown) => string;
  const outcome = (f: () => string): { text: string } | { error: string } => {
    try {
      return { text: f() };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  const agree = (value: unknown) => {
    const fast = outcome(() => canonicalJson(value));
    expect(fast).toEqual(outcome(() => canonicalJsonReference(value)));
    if ('text' in fast) expect(fast.text).toBe(pkg(value));
  };

  it('on a corpus of audit events, byte for byte', () => {
    const actors = [{ type: 'account', id: '01890a5d-ac96-774b-bcce-b302099a8057' }, { type: 'anonymous', id: 'anonymous' }];
    const details = [undefined, {}, { fields: ['email', 'name'], count: 3, reason: 'app_functionality' }, { nested: { a: [1, 2.5, -0, 1e21, null, true] }, '\u20ac': 'x', é: '\u0000"\\' }];
    for (const actor of actors) {
      for (const d of details) {
        for (const target of [undefined, { type: 'record', id: 'r-1' }]) {
          const event = buildEvent(
            { classUid: 6005, activityId: 1, action: 'vault.record.create', kind: 'change', outcome: 'success', tenantId: target ? 't' : null, target, ...(d ? { details: d as never } : {}) },
            { eventId: '01890a5d-ac96-774b-bcce-b302099a8058', time: new Date(1_700_000_000_123), actor, requestId: 'req-1', sourceIp: target ? '203.0.113.9' : null },
          );
          agree(event);
        }
      }
    }
  });

  it('on random values, refusals included (fast-check)', () => {
    fc.assert(fc.property(fc.jsonValue(), agree), { numRuns: 500 });
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true }),
        agree,
      ),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.oneof(fc.string({ unit: 'binary' }), fc.constant(undefined), fc.double())), agree), { numRuns: 500 });
  });
});
