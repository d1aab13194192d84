/**
 * `|cidr`: IPv4 and IPv6 networks. Addresses are parsed by hand into a
 * number (IPv4) or a reused 8-word buffer (IPv6): no allocation per check,
 * which matters on the hot path (Node's BlockList builds an object per call).
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 networks.
 */

/** Parses dotted-quad IPv4 into an unsigned 32-bit number; -1 when invalid. */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  let out = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      out = out * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // no leading zeros (octal ambiguity)
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return out * 256 + part;
}

/** Parses IPv6 into `out` (8 words); false when invalid. Accepts `::`, an IPv4 tail and a `%zone`. */
export function parseIPv6(s: string, out: Uint16Array): boolean {
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  let gap = -1;
  let n = 0;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (i === end) return fill(out, n, gap);
  }
  while (i < end) {
    let j = i;
    let v = 0;
    while (j < end && j - i < 5) {
      const h = hex(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      const v4 = parseIPv4(s, i, end);
      if (v4 < 0 || n > 6) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
      break;
    }
    if (j === i || j - i > 4 || n >= 8) return false;
    out[n++] = v;
    if (j === end) break;
    if (s.charCodeAt(j) !== 58) return false;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  return fill(out, n, gap);
}

function fill(out: Uint16Array, n: number, gap: number): boolean {
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  const tail = n - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[n - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export interface CidrSet {
  test(addr: string): boolean;
}

type Net4 = { net: number; mask: number };
type Net6 = { words: Uint16Array; prefix: number };

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address is a /32 or /128); null when invalid. */
export function parseCidr(s: string): Net4 | Net6 | null {
  const slash = s.indexOf('/');
  const address = (slash < 0 ? s : s.slice(0, slash)).trim();
  const prefixText = slash < 0 ? null : s.slice(slash + 1).trim();
  if (prefixText !== null && !/^\d{1,3}$/.test(prefixText)) return null;
  const v4 = parseIPv4(address);
  if (v4 >= 0) {
    const prefix = prefixText === null ? 32 : Number(prefixText);
    if (prefix > 32) return null;
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return { net: (v4 & mask) >>> 0, mask };
  }
  const words = new Uint16Array(8);
  if (!parseIPv6(address, words)) return null;
  const prefix = prefixText === null ? 128 : Number(prefixText);
  return prefix > 128 ? null : { words, prefix };
}

function in6(a: Uint16Array, n: Net6): boolean {
  let bits = n.prefix;
  for (let k = 0; k < 8 && bits > 0; k++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((a[k]! & mask) !== (n.words[k]! & mask)) return false;
  }
  return true;
}

const scratch = new Uint16Array(8);

/** One matcher for a list of networks (any of them). Values must be valid already (see parseCidr). */
export function cidrSet(cidrs: string[]): CidrSet {
  const v4: Net4[] = [];
  const v6: Net6[] = [];
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (!p) throw new Error(`invalid CIDR ${c}`);
    if ('mask' in p) v4.push(p);
    else v6.push(p);
  }
  const match4 = (a: number): boolean => {
    for (const n of v4) if (((a & n.mask) >>> 0) === n.net) return true;
    return false;
  };
  return {
    test(addr: string): boolean {
      const a = parseIPv4(addr);
      if (a >= 0) return match4(a);
      if (!parseIPv6(addr, scratch)) return false;
      for (const n of v6) if (in6(scratch, n)) return true;
      // IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address.
      const mapped = scratch[0] === 0 && scratch[1] === 0 && scratch[2] === 0 && scratch[3] === 0 && scratch[4] === 0 && scratch[5] === 0xffff;
      return mapped && match4(((scratch[6]! << 16) | scratch[7]!) >>> 0);
    },
  };
}

/**
 * The network an address belongs to at the given prefix lengths, as text
 * (`198.51.100.0/24`, `2001:db8:0:0:0:0:0:0/48`); other values unchanged.
 * An IPv4-mapped IPv6 address counts as IPv4.
 */
export function networkOf(value: string, mask: { ipv4: number; ipv6: number }): string {
  let v4 = parseIPv4(value);
  if (v4 < 0 && parseIPv6(value, scratch) && scratch[0] === 0 && scratch[1] === 0 && scratch[2] === 0 && scratch[3] === 0 && scratch[4] === 0 && scratch[5] === 0xffff)
    v4 = ((scratch[6]! << 16) | scratch[7]!) >>> 0;
  if (v4 >= 0) {
    const m = mask.ipv4 === 0 ? 0 : (0xffffffff << (32 - mask.ipv4)) >>> 0;
    const n = (v4 & m) >>> 0;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${mask.ipv4}`;
  }
  if (!parseIPv6(value, scratch)) return value;
  let bits = mask.ipv6;
  const words: string[] = [];
  for (let k = 0; k < 8; k++, bits -= 16) {
    const m = bits >= 16 ? 0xffff : bits <= 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    words.push((scratch[k]! & m).toString(16));
  }
  return `${words.join(':')}/${mask.ipv6}`;
}
