/**
 * Which network addresses a link may make the bot connect to. An allowlist:
 * only public unicast addresses pass (IPv4 class 'unicast'; IPv6 'unicast'
 * inside the global 2000::/3 block), after unwrapping the IPv6 forms that
 * carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4,
 * Teredo). Everything else — loopback, private, link-local, unique-local,
 * site-local, CGNAT, benchmark, documentation, multicast, broadcast,
 * unspecified, reserved — is private. The classes come from ipaddr.js, not
 * from hand-written ranges. Pure.
 */
import ipaddr from 'ipaddr.js';

export type IpRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A host name as the URL parser gives it, without IPv6 brackets and trailing dots, lower case. */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '').toLowerCase();
}

/** Names that mean this machine whatever DNS says (RFC 6761). */
export function isLocalName(hostname: string): boolean {
  const h = bareHost(hostname);
  return h === 'localhost' || h.endsWith('.localhost') || h === '';
}

/** The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo client), if any. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (ip.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return v4(p[6]!, p[7]!);
    case '6to4':
      return v4(p[1]!, p[2]!);
    case 'teredo':
      return v4(p[6]! ^ 0xffff, p[7]! ^ 0xffff);
    default:
      return undefined;
  }
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** Is `address` (an IP literal) a public unicast address? Anything unparsable is not. */
export function isPublicAddress(address: string): boolean {
  const text = bareHost(address);
  if (!ipaddr.isValid(text)) return false;
  const ip = ipaddr.parse(text);
  if (ip.kind() === 'ipv4') return ip.range() === 'unicast';
  const v6 = ip as ipaddr.IPv6;
  const inner = embeddedIPv4(v6);
  if (inner) return inner.range() === 'unicast';
  return v6.range() === 'unicast' && v6.match(GLOBAL_UNICAST_V6);
}

/** Does `address` fall in one of `ranges` (compared as IPv4 when it is an IPv4-mapped IPv6 address)? */
export function inRanges(address: string, ranges: readonly IpRange[]): boolean {
  const text = bareHost(address);
  if (ranges.length === 0 || !ipaddr.isValid(text)) return false;
  const ip = ipaddr.process(text);
  return ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
}

/** May a link connect to `address`: public, or in the ranges the admin allowed, or any when `allowPrivate`. */
export function addressAllowed(address: string, policy: { allowPrivate: boolean; allowedRanges?: readonly IpRange[] }): boolean {
  if (!ipaddr.isValid(bareHost(address))) return false;
  return policy.allowPrivate || isPublicAddress(address) || inRanges(address, policy.allowedRanges ?? []);
}

/** Is the host an IP literal (after the URL parser's normalisation: `0x7f.1` is already `127.0.0.1`)? */
export function isIpLiteral(hostname: string): boolean {
  return ipaddr.isValid(bareHost(hostname));
}

/**
 * Parses a comma-separated list of CIDR ranges or single addresses
 * (`192.168.1.10, 10.0.0.0/8, fd00::/8`). Returns the ranges, or the first entry that is not one.
 */
export function parseIpRanges(list: string): { ok: true; ranges: IpRange[] } | { ok: false; entry: string } {
  const ranges: IpRange[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    try {
      if (entry.includes('/')) ranges.push(ipaddr.parseCIDR(entry));
      else {
        const ip = ipaddr.process(entry);
        ranges.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      return { ok: false, entry };
    }
  }
  return { ok: true, ranges };
}
