/**
 * SSRF guard for webhook URLs. Users choose where genqueue sends requests, so without a guard a
 * webhook could reach the cloud metadata service, Redis, or anything else on the private network.
 *
 * Two layers: {@link checkUrl} refuses bad URLs when they are registered (clear error early), and
 * {@link createGuardedDispatcher} checks every address again when the connection is made, so a
 * host that later resolves to a private address (DNS rebinding) is still refused.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, isIPv4 } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { deniedRange, isInternalHostname } from './internal/address-policy.ts';

/**
 * Why a URL was refused:
 * - `invalid_url`: not a URL.
 * - `scheme`: not http or https.
 * - `credentials`: user name or password in the URL.
 * - `private_name`: `localhost`, `.local`, `.internal`, or a single-label name.
 * - `private_address`: the host is, or resolves to, a loopback, private, link-local, CGNAT,
 *   multicast or reserved address.
 */
export type UnsafeUrlReason = 'invalid_url' | 'scheme' | 'credentials' | 'private_name' | 'private_address';

/** Thrown (or passed to connect callbacks) when a URL or address is refused. */
export class UnsafeUrlError extends Error {
  override readonly name = 'UnsafeUrlError';
  readonly reason: UnsafeUrlReason;
  constructor(reason: UnsafeUrlReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Resolves a host name to all its addresses; injectable for tests. Default: `dns.lookup` (all, verbatim). */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

/** Options of {@link checkUrl}. */
export interface CheckUrlOptions {
  /** Allow loopback and private targets (`WEBHOOK_ALLOW_PRIVATE`, for local development and tests). */
  allowPrivate: boolean;
  /** Default: the system resolver. */
  lookup?: HostResolver;
}

const HINT = 'set WEBHOOK_ALLOW_PRIVATE=true to allow private targets in development';

const systemResolver: HostResolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/**
 * Refuses webhook URLs that are not http(s), carry credentials, or point at a non-public address:
 * a literal private IP, an internal name, or a name whose DNS answers include any private address.
 * With `allowPrivate`, only the scheme and credentials are checked (no DNS lookup).
 *
 * A name that does not resolve at all is not refused here (DNS may be down or not set up yet);
 * the guarded dispatcher checks the addresses again at delivery time.
 *
 * @throws {UnsafeUrlError}
 */
export async function checkUrl(url: string, options: CheckUrlOptions): Promise<void> {
  const parsed = parseWebhookUrl(url);
  if (options.allowPrivate) return;
  const host = bareHost(parsed.hostname);
  refuseLiteralOrName(host);
  if (isIP(host)) return;

  let addresses: LookupAddress[];
  try {
    addresses = await (options.lookup ?? systemResolver)(host);
  } catch {
    return;
  }
  refuseAddresses(host, addresses);
}

/**
 * Checks scheme and credentials without touching the network.
 * @throws {UnsafeUrlError}
 */
export function parseWebhookUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeUrlError('invalid_url', 'webhook URL is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UnsafeUrlError(
      'scheme',
      `webhook URL scheme ${parsed.protocol} is not allowed (use http or https)`,
    );
  }
  if (parsed.username || parsed.password) {
    // The credentials are not repeated in the message: they would end up in logs.
    throw new UnsafeUrlError('credentials', 'webhook URL must not contain a user name or password');
  }
  return parsed;
}

/** `[::1]` → `::1`, `example.com.` → `example.com`, lower case. */
function bareHost(hostname: string): string {
  return hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

function refuseLiteralOrName(host: string, policy: GuardPolicy = WEBHOOK_POLICY): void {
  if (isIP(host)) {
    const range = policy.allowsAddress(host) ? undefined : deniedRange(host);
    if (range)
      throw new UnsafeUrlError(
        'private_address',
        `${policy.subject} ${host} is a ${range} address; ${policy.hint}`,
      );
    return;
  }
  if (isInternalHostname(host) && !policy.allowsName(host)) {
    throw new UnsafeUrlError(
      'private_name',
      `${policy.subject} ${host} names an internal host; ${policy.hint}`,
    );
  }
}

function refuseAddresses(
  host: string,
  addresses: readonly LookupAddress[],
  policy: GuardPolicy = WEBHOOK_POLICY,
): void {
  if (policy.allowsName(host)) return;
  for (const { address } of addresses) {
    const range = policy.allowsAddress(address) ? undefined : deniedRange(address);
    if (range) {
      throw new UnsafeUrlError(
        'private_address',
        `${policy.subject} ${host} resolves to ${address}, a ${range} address; ${policy.hint}`,
      );
    }
  }
}

/**
 * Private hosts a dispatcher may reach all the same (`SINK_ALLOWED_HOSTS`, parsed by
 * `@genqueue/config`): host names matched exactly (case-insensitive, no wildcard), and IP
 * networks, a single address being a /32 or /128. A listed name is connected to whatever it
 * resolves to; any other name only when every address it resolves to is public or in a network.
 */
export interface AllowedHosts {
  hostnames: readonly string[];
  networks: readonly { address: string; prefix: number }[];
}

/** Options of {@link createGuardedDispatcher}. */
export interface GuardedDispatcherOptions {
  /** Allow loopback and private targets (`WEBHOOK_ALLOW_PRIVATE`). */
  allowPrivate: boolean;
  /** Private hosts allowed even without `allowPrivate`. Default: none. */
  allowed?: AllowedHosts;
  /** What the refusal messages call the target. Default `webhook host`. */
  subject?: string;
  /** How to allow a refused target, appended to refusal messages. Default: the `WEBHOOK_ALLOW_PRIVATE` hint. */
  hint?: string;
  /** TCP + TLS connect timeout, in milliseconds. Default 10 000. */
  connectTimeoutMs?: number;
  /** Default: the system resolver. */
  lookup?: HostResolver;
}

/** What a guard lets through besides public addresses, and how it words a refusal. */
interface GuardPolicy {
  allowsName(host: string): boolean;
  allowsAddress(address: string): boolean;
  subject: string;
  hint: string;
}

function guardPolicy(options: Pick<GuardedDispatcherOptions, 'allowed' | 'subject' | 'hint'>): GuardPolicy {
  const names = new Set((options.allowed?.hostnames ?? []).map((name) => bareHost(name)));
  const networks = new BlockList();
  for (const { address, prefix } of options.allowed?.networks ?? []) {
    networks.addSubnet(address, prefix, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return {
    allowsName: (host) => names.has(host),
    allowsAddress: (address) => {
      const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
      const family = isIP(ip);
      return family !== 0 && networks.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
    subject: options.subject ?? 'webhook host',
    hint: options.hint ?? HINT,
  };
}

const WEBHOOK_POLICY = guardPolicy({});

/**
 * An undici `Agent` that refuses to connect to non-public addresses (unless `allowPrivate`).
 *
 * Host names are checked in the socket's DNS lookup, so the address checked is the address
 * connected to (no rebinding window between check and connect). Literal IPs never go through a
 * lookup, so they are checked before the connector runs. Refusals fail the request with an
 * {@link UnsafeUrlError}; no connection is attempted. Redirects are not followed by this agent.
 */
export function createGuardedDispatcher(options: GuardedDispatcherOptions): Agent {
  const resolver = options.lookup ?? systemResolver;
  const policy = guardPolicy(options);
  const connector = buildConnector({
    timeout: options.connectTimeoutMs ?? 10_000,
    ...(options.allowPrivate && !options.lookup
      ? {}
      : { lookup: guardedLookup(resolver, options.allowPrivate, policy) }),
  });
  if (options.allowPrivate) return new Agent({ connect: connector });
  return new Agent({
    connect: (connectOptions, callback) => {
      const host = bareHost(connectOptions.hostname);
      try {
        refuseLiteralOrName(host, policy);
      } catch (error) {
        callback(error as UnsafeUrlError, null);
        return;
      }
      connector(connectOptions, callback);
    },
  });
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/** A `net.connect` lookup that resolves with `resolver` and refuses denied answers. */
function guardedLookup(resolver: HostResolver, allowPrivate: boolean, policy: GuardPolicy) {
  return (
    hostname: string,
    lookupOptions: { all?: boolean; family?: number | string },
    callback: LookupCallback,
  ) => {
    resolver(hostname).then(
      (answers) => {
        const host = bareHost(hostname);
        if (!allowPrivate) {
          try {
            refuseAddresses(host, answers, policy);
          } catch (error) {
            callback(error as UnsafeUrlError, '');
            return;
          }
        }
        const family =
          lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
        const usable = family ? answers.filter((a) => a.family === family) : answers;
        if (usable.length === 0) {
          callback(Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' }), '');
        } else if (lookupOptions.all) {
          callback(null, usable);
        } else {
          callback(null, usable[0]!.address, usable[0]!.family);
        }
      },
      (error: Error) => callback(error, ''),
    );
  };
}
