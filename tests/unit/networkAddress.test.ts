import { describe, expect, it } from 'vitest';
import { addressAllowed, bareHost, inRanges, isIpLiteral, isLocalName, isPublicAddress, parseIpRanges } from '../../src/domain/networkAddress.ts';

describe('isPublicAddress (an allowlist of public unicast)', () => {
  const privateOnes: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback, end of 127/8'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'CGNAT'],
    ['198.18.0.1', 'benchmark'],
    ['198.19.255.1', 'benchmark'],
    ['192.0.2.1', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast (SSDP)'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::7f00:1', 'IPv4-compatible loopback, hex'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated loopback'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b::10.0.0.1', 'NAT64 of private'],
    ['64:ff9b:1::a00:1', 'local-use NAT64 of private'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo with client 127.0.0.1'],
    ['fe80::1', 'link-local'],
    ['fe90::1', 'link-local (fe80::/10)'],
    ['febf::1', 'link-local, end of fe80::/10'],
    ['fec0::1', 'site-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard-only'],
    ['not an address', 'garbage'],
    ['', 'empty'],
  ];
  it.each(privateOnes)('%s (%s) is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  const publicOnes = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '198.20.0.1', '2606:4700:4700::1111', '2a00:1450:4001::1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '[2606:4700::1]'];
  it.each(publicOnes)('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('host names', () => {
  it('strips brackets and trailing dots, lower-cases', () => {
    expect(bareHost('[::1]')).toBe('::1');
    expect(bareHost('LocalHost.')).toBe('localhost');
    expect(bareHost('example.com..')).toBe('example.com');
  });
  it('knows the names of this machine, with or without a trailing dot', () => {
    for (const h of ['localhost', 'localhost.', 'LOCALHOST', 'a.localhost', 'x.y.localhost.', '']) expect(isLocalName(h)).toBe(true);
    for (const h of ['example.com', 'localhost.example.com', 'notlocalhost']) expect(isLocalName(h)).toBe(false);
  });
  it('tells IP literals from names', () => {
    expect(isIpLiteral('[::1]')).toBe(true);
    expect(isIpLiteral('127.0.0.1')).toBe(true);
    expect(isIpLiteral('example.com')).toBe(false);
  });
});

describe('admin ranges', () => {
  it('parses addresses and CIDR ranges, and names the bad entry', () => {
    const ok = parseIpRanges(' 192.168.1.10, 10.0.0.0/8 ,fd00::/8,');
    expect(ok.ok && ok.ranges.length).toBe(3);
    expect(parseIpRanges('10.0.0.0/8,nas.lan')).toEqual({ ok: false, entry: 'nas.lan' });
    expect(parseIpRanges('10.0.0.0/33')).toEqual({ ok: false, entry: '10.0.0.0/33' });
  });
  it('opens exactly the listed ranges (IPv4-mapped IPv6 compared as IPv4)', () => {
    const parsed = parseIpRanges('192.168.1.10,fd00::/8');
    if (!parsed.ok) throw new Error('bad');
    const policy = { allowPrivate: false, allowedRanges: parsed.ranges };
    expect(addressAllowed('192.168.1.10', policy)).toBe(true);
    expect(addressAllowed('::ffff:192.168.1.10', policy)).toBe(true);
    expect(addressAllowed('fd00::5', policy)).toBe(true);
    expect(addressAllowed('192.168.1.11', policy)).toBe(false);
    expect(addressAllowed('127.0.0.1', policy)).toBe(false);
    expect(inRanges('192.168.1.10', [])).toBe(false);
  });
  it('a request with its own permission may reach any address, but never a non-address', () => {
    expect(addressAllowed('127.0.0.1', { allowPrivate: true })).toBe(true);
    expect(addressAllowed('nonsense', { allowPrivate: true })).toBe(false);
    expect(addressAllowed('8.8.8.8', { allowPrivate: false })).toBe(true);
  });
});
