import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ipLiteral, isLocalAddress, isLoopbackAddress, isLoopbackListen } from './local-address.js';

describe('local addresses (Go netip rules, as Ollama uses them)', () => {
  it('reads IP literals with brackets and zones, and nothing else', () => {
    expect(ipLiteral('[::1]')).toEqual({ address: '::1', family: 'ipv6' });
    expect(ipLiteral('fe80::1%eth0')).toEqual({ address: 'fe80::1', family: 'ipv6' });
    expect(ipLiteral('10.1.2.3')).toEqual({ address: '10.1.2.3', family: 'ipv4' });
    expect(ipLiteral('localhost')).toBeUndefined();
    expect(ipLiteral('127.1')).toBeUndefined();
  });

  it('loopback: 127/8 and ::1, IPv4-mapped too', () => {
    for (const a of ['127.0.0.1', '127.9.8.7', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['10.0.0.1', '::', 'localhost', '8.8.8.8', undefined]) expect(isLoopbackAddress(a), String(a)).toBe(false);
  });

  it('local: loopback, private ranges, unspecified and this machine\'s interfaces; public addresses are not', () => {
    for (const a of ['127.0.0.1', '10.20.30.40', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fd00::1', 'fc12::3', '0.0.0.0', '::', '::ffff:192.168.0.9']) {
      expect(isLocalAddress(a), a).toBe(true);
    }
    const mine = Object.values(networkInterfaces()).flatMap((l) => l ?? []).map((i) => i.address);
    for (const a of mine) expect(isLocalAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:4860::8888', 'evil.example']) {
      if (!mine.includes(a)) expect(isLocalAddress(a), a).toBe(false);
    }
  });

  it('a listen address is loopback-only for localhost, 127/8 and ::1', () => {
    for (const h of ['127.0.0.1', 'localhost', 'LOCALHOST', '::1', '127.0.0.2']) expect(isLoopbackListen(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'my-host']) expect(isLoopbackListen(h), h).toBe(false);
  });
});
