/**
 * Which IP addresses a webhook may not reach (SSRF guard). Each denied range is named, so an error
 * can say why ("a loopback address"), and IPv6 forms that embed an IPv4 address (mapped, NAT64,
 * 6to4, compatible) are judged by the IPv4 address they carry.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

const IPV4_RANGES: [network: string, prefix: number, kind: string][] = [
  ['0.0.0.0', 8, '"this network" (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'private (10.0.0.0/8)'],
  ['100.64.0.0', 10, 'carrier-grade NAT (100.64.0.0/10)'],
  ['127.0.0.0', 8, 'loopback (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'link-local / cloud metadata (169.254.0.0/16)'],
  ['172.16.0.0', 12, 'private (172.16.0.0/12)'],
  ['192.0.0.0', 24, 'IETF protocol assignment (192.0.0.0/24)'],
  ['192.168.0.0', 16, 'private (192.168.0.0/16)'],
  ['198.18.0.0', 15, 'benchmarking (198.18.0.0/15)'],
  ['224.0.0.0', 4, 'multicast (224.0.0.0/4)'],
  ['240.0.0.0', 4, 'reserved or broadcast (240.0.0.0/4)'],
];

const IPV6_RANGES: [network: string, prefix: number, kind: string][] = [
  ['::', 128, 'unspecified (::)'],
  ['::1', 128, 'loopback (::1)'],
  ['fc00::', 7, 'unique local / private (fc00::/7)'],
  ['fe80::', 10, 'link-local (fe80::/10)'],
  ['fec0::', 10, 'site-local (fec0::/10)'],
  ['ff00::', 8, 'multicast (ff00::/8)'],
];

// One BlockList per range, so the matching range can be named.
const RULES = [
  ...IPV4_RANGES.map(([network, prefix, kind]) => ({
    list: blockList(network, prefix, 'ipv4'),
    family: 'ipv4',
    kind,
  })),
  ...IPV6_RANGES.map(([network, prefix, kind]) => ({
    list: blockList(network, prefix, 'ipv6'),
    family: 'ipv6',
    kind,
  })),
] as const;

function blockList(network: string, prefix: number, family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return list;
}

/**
 * Names the denied range an IP address falls in (`"loopback (127.0.0.0/8)"`), or returns undefined
 * for a public address. Anything that is not a valid IP address is denied.
 */
export function deniedRange(address: string): string | undefined {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(ip)) return match(ip, 'ipv4');
  if (isIP(ip) !== 6) return 'not an IP address';
  const embedded = embeddedIPv4(ip);
  if (embedded) {
    const inner = match(embedded, 'ipv4');
    return inner ? `${inner}, embedded in IPv6` : undefined;
  }
  return match(ip, 'ipv6');
}

function match(ip: string, family: 'ipv4' | 'ipv6'): string | undefined {
  return RULES.find((rule) => rule.family === family && rule.list.check(ip, family))?.kind;
}

/**
 * The IPv4 address carried by an IPv6 address, for the forms that route to it: IPv4-mapped
 * `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and 6to4 `2002::/16`.
 */
export function embeddedIPv4(ip: string): string | undefined {
  const bytes = ipv6Bytes(ip);
  if (!bytes) return undefined;
  const zero = (from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
  const v4 = (offset: number) => Array.from(bytes.subarray(offset, offset + 4)).join('.');
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4(12);
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not compatible forms.
  if (zero(0, 12) && !zero(12, 15)) return v4(12);
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zero(4, 12))
    return v4(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return v4(2);
  return undefined;
}

/** Parses a valid IPv6 address (as checked by `net.isIP`) into its 16 bytes. */
function ipv6Bytes(ip: string): Uint8Array | undefined {
  let text = ip.toLowerCase();
  const words: number[] = [];
  // A trailing dotted quad stands for the last two 16-bit words.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted?.[1]) {
    const parts = dotted[1].split('.').map(Number);
    tail = [((parts[0] ?? 0) << 8) | (parts[1] ?? 0), ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)];
    text = text.slice(0, -dotted[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) =>
    part ? part.split(':').map((w) => Number.parseInt(w, 16)) : [];
  const left = parse(head);
  const right = [...parse(rest), ...tail];
  if (rest === undefined) words.push(...left, ...tail);
  else words.push(...left, ...new Array(8 - left.length - right.length).fill(0), ...right);
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/**
 * Host names that point inside the network whatever DNS says: `localhost` and its subdomains,
 * mDNS `.local`, `.internal` (cloud metadata such as `metadata.google.internal`), `.home.arpa`,
 * and single-label names, which resolvers complete with local search domains.
 */
export function isInternalHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host === 'localhost.localdomain') return true;
  if (/\.(localhost|local|internal|home\.arpa|localdomain)$/.test(host)) return true;
  return !host.includes('.') && isIP(host) === 0;
}
