import { domainToASCII } from 'node:url';
import fc from 'fast-check';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { asciiDomain, normalise, normaliseDate, normaliseEmail, normalisePhone } from './normalise.js';
import type { FieldDef } from './types.js';

const field = (type: FieldDef['type'], extra: Partial<FieldDef> = {}): FieldDef => ({ type, personal: false, required: false, unique: false, searchable: false, purposes: [], ...extra });

describe('vault value normalisation', () => {
  it('emails: trimmed, lower-cased, IDNA domains; Unicode and punycode forms are one address', () => {
    expect(normaliseEmail('  Ada@Bücher.Example ')).toEqual({ ok: true, value: 'ada@xn--bcher-kva.example' });
    expect(normaliseEmail('ada@xn--bcher-kva.example')).toEqual({ ok: true, value: 'ada@xn--bcher-kva.example' });
    expect(normaliseEmail('JÖRG@MÜLLER.EXAMPLE')).toEqual(normaliseEmail('jörg@müller.example'));
    for (const bad of ['no-at', '@example.org', 'a@', 'a b@example.org', 'a@localhost', 'a..b@example.org', 'a@exa mple.org', 42, 'x\uD800@example.org']) expect(normaliseEmail(bad).ok, String(bad)).toBe(false);
  });

  it('phones: E.164, national numbers read in the field region', () => {
    expect(normalisePhone('030 1234567', 'DE')).toEqual({ ok: true, value: '+49301234567' });
    expect(normalisePhone('+49 (30) 123-4567')).toEqual({ ok: true, value: '+49301234567' });
    expect(normalisePhone('020 7946 0958', 'GB')).toEqual({ ok: true, value: '+442079460958' });
    expect(normalisePhone('030 1234567').ok, 'no region, no country code').toBe(false);
    expect(normalisePhone('12', 'DE').ok).toBe(false);
  });

  it('dates: calendar dates kept, date-times to UTC ISO, impossible dates refused', () => {
    expect(normaliseDate('2024-02-29')).toEqual({ ok: true, value: '2024-02-29' });
    expect(normaliseDate('2023-02-29').ok).toBe(false);
    expect(normaliseDate('2024-01-01T10:00:00+02:00')).toEqual({ ok: true, value: '2024-01-01T08:00:00.000Z' });
    expect(normaliseDate('01/02/2024').ok).toBe(false);
  });

  it('numbers finite, booleans strict, strings NFC within their limit, objects JSON objects', () => {
    expect(normalise(Number.NaN, field('number')).ok).toBe(false);
    expect(normalise(Infinity, field('number')).ok).toBe(false);
    expect(normalise('1', field('number')).ok).toBe(false);
    expect(normalise('true', field('boolean')).ok).toBe(false);
    expect(normalise('e\u0301', field('string'))).toEqual({ ok: true, value: '\u00e9' });
    expect(normalise('abcd', field('string', { maxLength: 3 })).ok).toBe(false);
    expect(normalise([1], field('object')).ok).toBe(false);
    expect(normalise({ a: 1 }, field('object'))).toEqual({ ok: true, value: { a: 1 } });
  });

  it('the plain-ASCII domain shortcut answers exactly what domainToASCII answers (numbers, punycode, hyphens, empty labels)', () => {
    const label = fc.oneof(fc.stringMatching(/^[a-z0-9-]{0,8}$/), fc.constantFrom('xn--', 'xn--bcher-kva', 'xn--a', '0x', '0x1f', '09', '1', 'com', 'é', '_', '%41'));
    const domain = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'));
    fc.assert(fc.property(domain, (d) => asciiDomain(d) === domainToASCII(d)), { numRuns: 5000 });
    for (const d of ['example.org', 'a.1', '1.2.3.4', 'a.0x1f', 'xn--bcher-kva.example', 'bücher.example', 'a..b', 'a.b.']) expect(asciiDomain(d), d).toBe(domainToASCII(d));
  });

  it("phones through the core entry agree with the package's default entry (same metadata), valid or not", () => {
    const region = fc.constantFrom(undefined, 'DE', 'GB', 'US', 'FR', 'CH');
    const text = fc.oneof(fc.stringMatching(/^[+]?[0-9 ()-]{0,18}$/), fc.constantFrom('030 1234567', '+49 (30) 123-4567', '020 7946 0958', '+1 212 555 0100', '0041 44 668 18 00', 'tel:+4930123456'));
    fc.assert(
      fc.property(text, region, (v, r) => {
        const p = parsePhoneNumberFromString(v, r);
        const want = p?.isValid() ? { ok: true, value: p.number } : { ok: false };
        const got = normalisePhone(v, r);
        return got.ok === want.ok && (!got.ok || got.value === want.value);
      }),
      { numRuns: 3000 },
    );
  });
});
