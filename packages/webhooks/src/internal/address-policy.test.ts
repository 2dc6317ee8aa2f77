import { describe, expect, it } from 'vitest';
import { deniedRange, embeddedIPv4, isInternalHostname } from './address-policy.ts';

describe('deniedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'this network'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback (::1)'],
    ['[::1]', 'loopback (::1)'],
    ['::', 'unspecified'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback (127.0.0.0/8), embedded in IPv6'],
    ['::ffff:7f00:1', 'loopback (127.0.0.0/8), embedded in IPv6'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:c0a8:0101::1', 'private (192.168.0.0/16), embedded'],
    ['::127.0.0.1', 'loopback'],
    ['not-an-ip', 'not an IP address'],
  ])('denies %s (%s)', (address, kind) => {
    expect(deniedRange(address)).toContain(kind);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:2800:220:1:248:1893:25c8:1946',
    '::ffff:8.8.8.8',
  ])('allows public %s', (address) => {
    expect(deniedRange(address)).toBeUndefined();
  });

  it('extracts embedded IPv4 only from the forms that carry one', () => {
    expect(embeddedIPv4('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(embeddedIPv4('2002:0102:0304::')).toBe('1.2.3.4');
    expect(embeddedIPv4('::1')).toBeUndefined();
    expect(embeddedIPv4('2001:db8::1')).toBeUndefined();
  });
});

describe('isInternalHostname', () => {
  it.each([
    'localhost',
    'LOCALHOST.',
    'api.localhost',
    'printer.local',
    'metadata.google.internal',
    'metadata',
    'nas.home.arpa',
  ])('flags %s', (host) => expect(isInternalHostname(host)).toBe(true));
  it.each(['example.com', 'hooks.example.org.', '93.184.216.34'])('accepts %s', (host) =>
    expect(isInternalHostname(host)).toBe(false),
  );
});
