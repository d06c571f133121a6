import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * What counts as "this machine" or "the local network", as Ollama decides it (Go's
 * netip IsLoopback / IsPrivate / IsUnspecified, plus the machine's interface addresses).
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) count as their IPv4 address.
 */

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const privateRanges = new BlockList();
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

const unspecified = new BlockList();
unspecified.addAddress('0.0.0.0', 'ipv4');
unspecified.addAddress('::', 'ipv6');

/** An IP literal without brackets or zone (`fe80::1%eth0` -> `fe80::1`), or undefined when it is not one. */
export function ipLiteral(host: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const address = bare.replace(/%.*$/, '');
  const version = isIP(address);
  if (version === 0) return undefined;
  return { address, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function isLoopbackAddress(host: string | undefined): boolean {
  const ip = host === undefined ? undefined : ipLiteral(host);
  return ip !== undefined && loopback.check(ip.address, ip.family);
}

/** Loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), unspecified, or one of this machine's interface addresses. */
export function isLocalAddress(host: string): boolean {
  if (isFixedLocalAddress(host)) return true;
  const ip = ipLiteral(host);
  if (!ip) return false;
  // Read each time (rare: only a public-looking literal gets here): interfaces come and go.
  const mine = new BlockList();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) mine.addAddress(a.address.replace(/%.*$/, ''), a.family === 'IPv4' ? 'ipv4' : 'ipv6');
  }
  return mine.check(ip.address, ip.family);
}

/** Loopback, private or unspecified: local whatever the interfaces are. */
export function isFixedLocalAddress(host: string): boolean {
  const ip = ipLiteral(host);
  return ip !== undefined && (loopback.check(ip.address, ip.family) || privateRanges.check(ip.address, ip.family) || unspecified.check(ip.address, ip.family));
}

/** Whether a listen address (`server.host`) accepts connections from this machine only. */
export function isLoopbackListen(host: string): boolean {
  return host.toLowerCase() === 'localhost' || isLoopbackAddress(host);
}
