/** `|cidr`: IPv4 and IPv6 networks, checked with Node's BlockList (no per-rule parser to get wrong). */
import { BlockList, isIP } from 'node:net';

export interface CidrSet {
  test(addr: string): boolean;
}

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address is a /32 or /128); null when invalid. */
export function parseCidr(s: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const slash = s.indexOf('/');
  const address = (slash < 0 ? s : s.slice(0, slash)).trim();
  const v = isIP(address);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : s.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** One matcher for a list of networks (any of them). Values must be valid already (see parseCidr). */
export function cidrSet(cidrs: string[]): CidrSet {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (!p) throw new Error(`invalid CIDR ${c}`);
    list.addSubnet(p.address, p.prefix, p.family);
  }
  return {
    test(addr: string): boolean {
      const v = isIP(addr);
      if (v === 0) return false;
      return list.check(addr, v === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
